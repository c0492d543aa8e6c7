"""Integration: ModelStore against a real ``mlflow server`` on 127.0.0.1 (SQLite backend, served artifacts)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gridai.exceptions import GridAIModelError, GridAIUnreachableError
from gridai.tracking.config import TrackingConfig
from gridai.tracking.connection import make_client, mlflow_http_limits
from gridai.tracking.promotion import alias_history, promote
from gridai.tracking.store import ModelStore

from support import TRACKING_DAY, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # one real MLflow server: ~6 s to start

SERVER_START_TIMEOUT_S = 180.0  # generous: a loaded 2-core CI machine starts it in 10-70 s


@pytest.fixture(scope="module")
def server_uri(tmp_path_factory: pytest.TempPathFactory, _mlflow_template_db: Path) -> Iterator[str]:
    """A real MLflow server (started once for this module, always terminated)."""
    import requests

    root = tmp_path_factory.mktemp("mlflow-server")
    shutil.copyfile(_mlflow_template_db, root / "mlflow.db")  # skips the schema migrations
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no background job workers for a test server
    cmd = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"mlflow server exited with {proc.returncode}:\n{(root / 'server.log').read_text()}"
                )
            try:
                if requests.get(f"{uri}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not healthy after {SERVER_START_TIMEOUT_S} s")
            time.sleep(0.25)
        yield uri
    finally:
        with_group = proc.poll() is None
        if with_group:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        log.close()


def _tags(mape: float) -> dict[str, str]:
    return {
        "gridai.backtest.system_mape": str(mape),
        "gridai.backtest.train_end": "2021-02-01",
        "gridai.backtest.test_end": "2021-02-15",
        "gridai.backtest.issue_lead_hours": "14.0",
        "gridai.backtest.weather": "observed",
        "gridai.backtest.test_data_sha256": "abc",
    }


def test_server_round_trip_promotion_and_history(server_uri: str, vanilla_forecaster, tracking_data) -> None:  # type: ignore[no-untyped-def]
    load, weather = tracking_data
    cfg = TrackingConfig(tracking_uri=server_uri)
    store = ModelStore(make_client(cfg), cfg)
    with store.run("server") as run_id:
        store.log_dataset(run_id, load, "synthetic://server")
        logged = store.log_forecaster(
            run_id, vanilla_forecaster, load, weather, TRACKING_DAY, example_history_days=8
        )
    v1 = store.register(logged, _tags(5.0))
    v2 = store.register(logged, _tags(7.0))
    v3 = store.register(logged, _tags(3.0))
    # Artifacts went through the server (mlflow-artifacts:), not a local path.
    assert store.client.get_model_version_download_uri("gridai-load", v1).startswith("mlflow-artifacts:")

    assert promote(store, v1, actor="ci").promoted
    refused = promote(store, v2, actor="ci")
    assert not refused.promoted and store.alias_version("champion") == v1
    assert promote(store, v3, actor="ci").promoted
    assert [(h["from_version"], h["to_version"]) for h in alias_history(store)] == [(None, v1), (v1, v3)]

    loaded, resolved = store.load_forecaster("models:/gridai-load@champion")
    assert resolved.version == v3
    before = vanilla_forecaster.predict(load, weather, TRACKING_DAY.date())["load_forecast"].values
    after = loaded.predict(load, weather, TRACKING_DAY.date())["load_forecast"].values
    np.testing.assert_array_equal(before, after)

    with pytest.raises(GridAIModelError, match="does not exist"):
        store.load_forecaster("models:/gridai-load@staging")


def test_unreachable_server_fails_fast() -> None:
    import requests  # noqa: F401 - imported before timing: only the probe is timed

    cfg = TrackingConfig(tracking_uri=f"http://127.0.0.1:{free_port()}", connect_timeout_s=2.0)
    t0 = time.monotonic()
    with pytest.raises(GridAIUnreachableError, match="unreachable") as err:
        make_client(cfg)
    assert time.monotonic() - t0 < 5.0
    assert err.value.details["uri"] == cfg.tracking_uri


def test_server_that_never_answers_times_out() -> None:
    """A port that accepts connections but never replies (a hung server) fails after connect_timeout_s."""
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)  # the kernel completes handshakes; nobody ever reads or answers
        uri = f"http://127.0.0.1:{hung.getsockname()[1]}"
        import requests  # noqa: F401 - imported before timing: only the probe is timed

        t0 = time.monotonic()
        with pytest.raises(GridAIUnreachableError, match="ReadTimeout"):
            make_client(TrackingConfig(tracking_uri=uri, connect_timeout_s=1.0))
        assert 0.9 < time.monotonic() - t0 < 5.0


def test_server_dying_mid_session_is_unreachable_not_a_hang() -> None:
    from mlflow import MlflowClient

    uri = f"http://127.0.0.1:{free_port()}"
    store = ModelStore(MlflowClient(tracking_uri=uri), TrackingConfig(tracking_uri=uri))
    t0 = time.monotonic()
    with mlflow_http_limits(timeout_s=2, max_retries=0), pytest.raises(GridAIUnreachableError):
        store.load_forecaster("models:/gridai-load@champion")
    assert time.monotonic() - t0 < 10.0
