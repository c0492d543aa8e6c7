"""ModelStore against a temporary SQLite store: logging without pickle, loading, promotion."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from gridai.exceptions import GridAIConfigError, GridAIModelError
from gridai.tracking.config import TrackingConfig
from gridai.tracking.connection import check_reachable, make_client, resolve_tracking_uri
from gridai.tracking.promotion import alias_history, promote
from gridai.tracking.store import ModelStore

from support import TRACKING_DAY


@pytest.fixture
def store(mlflow_uri: str) -> ModelStore:
    cfg = TrackingConfig(tracking_uri=mlflow_uri)
    return ModelStore(make_client(cfg), cfg)


def _log(store: ModelStore, forecaster, data, tags: dict[str, str] | None = None) -> str:  # type: ignore[no-untyped-def]
    load, weather = data
    with store.run("test") as run_id:
        logged = store.log_forecaster(run_id, forecaster, load, weather, TRACKING_DAY, example_history_days=8)
    return store.register(logged, tags)


@pytest.mark.parametrize(
    ("configured", "env", "expected"),
    [
        pytest.param(
            "http://cfg:5000", {"MLFLOW_TRACKING_URI": "http://env:5000"}, "http://cfg:5000", id="config"
        ),
        pytest.param(None, {"MLFLOW_TRACKING_URI": "http://env:5000"}, "http://env:5000", id="env"),
        pytest.param(None, {}, "sqlite:///{cwd}/mlflow.db", id="default-sqlite-in-cwd"),
    ],
)
def test_tracking_uri_precedence(
    tmp_path: Path, configured: str | None, env: dict[str, str], expected: str
) -> None:
    assert resolve_tracking_uri(configured, env, cwd=tmp_path) == expected.format(cwd=tmp_path.resolve())


def test_sqlite_in_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(GridAIConfigError, match="does not exist"):
        check_reachable(f"sqlite:///{tmp_path}/nope/mlflow.db")


def test_round_trip_identical_forecasts_and_no_pickle(
    store: ModelStore, vanilla_forecaster, tracking_data
) -> None:  # type: ignore[no-untyped-def]
    import mlflow.pyfunc
    from mlflow.artifacts import download_artifacts

    load, weather = tracking_data
    version = _log(store, vanilla_forecaster, tracking_data)
    loaded, resolved = store.load_forecaster(f"models:/gridai-load/{version}")
    assert resolved.version == version
    by_run, _ = store.load_forecaster(f"runs:/{resolved.run_id}/forecaster")
    before = vanilla_forecaster.predict(load, weather, TRACKING_DAY.date())
    after = loaded.predict(load, weather, TRACKING_DAY.date())
    np.testing.assert_array_equal(before["load_forecast"].values, after["load_forecast"].values)
    np.testing.assert_array_equal(
        before["load_forecast"].values,
        by_run.predict(load, weather, TRACKING_DAY.date())["load_forecast"].values,
    )
    assert list(after["series"].values) == list(before["series"].values)

    # The artifact: JSON + safetensors only, an MLmodel naming gridai's loader, a signature and example.
    local = Path(
        download_artifacts(
            artifact_uri=store.client.get_model_version_download_uri("gridai-load", version),
            dst_path=str(Path(str(store.client.tracking_uri)[len("sqlite:///") :]).parent / "dl"),
            tracking_uri=store.uri,
        )
    )
    suffixes = {p.suffix for p in (local / "data").rglob("*") if p.is_file()}
    assert suffixes == {".json", ".safetensors"}
    mlmodel = (local / "MLmodel").read_text()
    assert "loader_module: gridai.tracking.pyfunc" in mlmodel
    assert "cloudpickle" not in mlmodel and "python_model" not in mlmodel
    assert "signature:" in mlmodel and (local / "input_example.json").exists()

    # The generic MLflow pyfunc route gives the same numbers from the logged input example.
    from mlflow.models import Model

    model = Model.load(str(local))
    example = model.load_input_example(str(local))
    params = model.load_input_example_params(str(local))
    assert params == {"day": TRACKING_DAY.strftime("%Y-%m-%d")}
    out = mlflow.pyfunc.load_model(str(local)).predict(example, params=params)
    expect = before["load_forecast"].transpose("time", "series", "quantile").values.ravel()
    got = out.sort_values(["time", "series", "quantile"]).set_index(["time", "series", "quantile"])
    ref = before["load_forecast"].to_dataframe().reset_index().set_index(["time", "series", "quantile"])
    np.testing.assert_allclose(
        got.loc[ref.index, "load_forecast"].values, ref["load_forecast"].values, rtol=0
    )
    assert len(out) == expect.size


def test_dataset_input_and_epoch_metrics_logged(store: ModelStore, tracking_data) -> None:  # type: ignore[no-untyped-def]
    load, _ = tracking_data
    with store.run("inputs") as run_id:
        digest = store.log_dataset(run_id, load, "synthetic://test")
        on_epoch = store.epoch_logger(run_id)
        for epoch, loss in enumerate([0.5, 0.4, 0.3]):
            on_epoch(epoch, {"train_loss": loss})
    run = store.client.get_run(run_id)
    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1 and inputs[0].dataset.digest == digest[:32]
    assert run.data.tags["gridai.data.load_sha256"] == digest
    history = store.client.get_metric_history(run_id, "epoch/train_loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.4), (2, 0.3)]
    assert run.info.status == "FINISHED"
    changed = load.copy(deep=True)
    changed["load"][5, 1] += 1.0
    from gridai.tracking.store import data_digest

    assert data_digest(changed) != digest


def test_corrupted_artifact_is_a_model_error(store: ModelStore, vanilla_forecaster, tracking_data) -> None:  # type: ignore[no-untyped-def]
    version = _log(store, vanilla_forecaster, tracking_data)
    source = store.client.get_model_version_download_uri("gridai-load", version)
    weights = Path(source.removeprefix("file://")) / "data" / "payload" / "forecaster" / "arrays.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated
    with pytest.raises(GridAIModelError, match="corrupted") as err:
        store.load_forecaster(f"models:/gridai-load/{version}")
    assert "arrays.safetensors" in str(err.value)


@pytest.mark.parametrize(
    "uri",
    [
        pytest.param("models:/gridai-load@champion", id="missing-alias"),
        pytest.param("models:/gridai-load/7", id="missing-version"),
        pytest.param("models:/no-such-model@champion", id="missing-model"),
        pytest.param("/no/such/model/dir", id="missing-path"),
    ],
)
def test_missing_model_uri_is_a_model_error(
    store: ModelStore, vanilla_forecaster, tracking_data, uri: str
) -> None:  # type: ignore[no-untyped-def]
    _log(store, vanilla_forecaster, tracking_data)
    with pytest.raises(GridAIModelError, match="does not exist"):
        store.load_forecaster(uri)


def _backtest_tags(mape: float, test_end: str = "2021-02-15") -> dict[str, str]:
    return {
        "gridai.backtest.system_mape": str(mape),
        "gridai.backtest.train_end": "2021-02-01",
        "gridai.backtest.test_end": test_end,
        "gridai.backtest.issue_lead_hours": "14.0",
        "gridai.backtest.weather": "observed",
        "gridai.backtest.test_data_sha256": "abc",
    }


def test_promotion_refuses_worse_accepts_better_and_records_history(
    store: ModelStore, vanilla_forecaster, tracking_data
) -> None:  # type: ignore[no-untyped-def]
    load, weather = tracking_data
    with store.run("promo") as run_id:
        logged = store.log_forecaster(
            run_id, vanilla_forecaster, load, weather, TRACKING_DAY, example_history_days=8
        )
    v1 = store.register(logged, _backtest_tags(5.0))
    v2 = store.register(logged, _backtest_tags(6.0))
    v3 = store.register(logged, _backtest_tags(4.0))
    v4 = store.register(logged, _backtest_tags(1.0, test_end="2021-02-20"))
    when = dt.datetime(2021, 3, 1, tzinfo=dt.UTC)

    first = promote(store, v1, actor="tester", now=when)
    assert first.promoted and first.previous is None
    worse = promote(store, v2, actor="tester", now=when)
    assert not worse.promoted and "does not beat" in worse.reason
    assert store.alias_version("champion") == v1
    other_backtest = promote(store, v4, actor="tester", now=when)
    assert not other_backtest.promoted and "test_end" in other_backtest.reason
    better = promote(store, v3, actor="tester", now=when)
    assert better.promoted and (better.candidate_value, better.champion_value) == (4.0, 5.0)
    forced = promote(store, v2, force=True, actor="tester", now=when)
    assert forced.promoted and forced.forced
    assert store.alias_version("champion") == v2

    history = alias_history(store)
    assert [(h["from_version"], h["to_version"], h["forced"]) for h in history] == [
        (None, v1, False),
        (v1, v3, False),
        (v3, v2, True),
    ]
    assert history[1]["by"] == "tester" and history[1]["at"] == "2021-03-01T00:00:00+00:00"
    assert history[1]["candidate_value"] == 4.0 and history[1]["champion_value"] == 5.0
    tags = store.client.get_registered_model("gridai-load").tags
    (second,) = [v for k, v in tags.items() if k.startswith("alias_history.000002.")]
    assert json.loads(second)["to_version"] == v3


def test_promotion_without_metric_needs_force(store: ModelStore, vanilla_forecaster, tracking_data) -> None:  # type: ignore[no-untyped-def]
    version = _log(store, vanilla_forecaster, tracking_data)
    with pytest.raises(GridAIModelError, match="no backtest metric"):
        promote(store, version)
    assert promote(store, version, force=True).promoted


def test_http_limits_are_scoped(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from gridai.tracking.connection import mlflow_http_limits

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "99")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    with mlflow_http_limits(timeout_s=3, max_retries=1):
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "3"
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "99"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
