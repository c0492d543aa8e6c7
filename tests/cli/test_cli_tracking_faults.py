"""A broken tracking store does not kill the day-ahead job: it runs on with the tracking fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridai.cli.main import app

from support import GEFCOM_DIR


@pytest.mark.parametrize(
    ("setup", "names"),
    [
        pytest.param("garbage-db", ("mlflow.db", "is unusable"), id="garbage-mlflow-db"),
        pytest.param("unknown-scheme", ("foo://bar", "unsupported scheme"), id="unknown-uri-scheme"),
    ],
)
def test_broken_store_gives_the_tracking_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: str, names: tuple[str, ...]
) -> None:
    monkeypatch.chdir(tmp_path)
    if setup == "garbage-db":
        (tmp_path / "mlflow.db").write_bytes(b"this is not an sqlite database")
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", "foo://bar")
    cfg = tmp_path / "job.yaml"
    cfg.write_text(
        f"data: {{kind: gefcom2012, load_path: {GEFCOM_DIR}, history_days: 35}}\n"
        "model: {uri: 'models:/gridai-load@champion', fallback: seasonal_naive}\n"
        "feeders: [{name: f1, series: zone_1, network: case33bw}]\n"
    )
    res = CliRunner().invoke(
        app, ["run", "day-ahead", "--date", "2008-06-30", "-c", str(cfg), "--out", "out", "--no-dask"]
    )
    assert res.exit_code == 1, res.output
    doc = json.loads((tmp_path / "out" / "2008-06-30" / "run.json").read_text())
    kinds = [f["kind"] for f in doc["fallbacks"]]
    assert "tracking_unreachable" in kinds and "substituted" in kinds
    reason = next(f["reason"] for f in doc["fallbacks"] if f["kind"] == "tracking_unreachable")
    for name in names:
        assert name in reason
    if setup == "garbage-db":
        assert (tmp_path / "mlflow.db").read_bytes() == b"this is not an sqlite database", "never overwritten"
