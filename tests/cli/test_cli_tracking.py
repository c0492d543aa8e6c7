"""``gridai train / promote / models / forecast`` end to end on the default SQLite store in the working directory."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

from gridai.cli.main import app
from gridai.testing import synthetic_load, synthetic_weather, write_wide_csv

from support import free_port

TRAIN_END, TEST_END = "2023-02-08", "2023-02-11"
DAY = "2023-02-12"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, _mlflow_template_db: Path) -> Path:
    """A working directory with wide CSVs, two training configs and an (empty) default mlflow.db."""
    root = tmp_path_factory.mktemp("cli")
    weather = synthetic_weather(2, start="2023-01-01", days=44, seed=3)
    load = synthetic_load(3, start="2023-01-01", days=44, seed=3, weather=weather)
    write_wide_csv(load, root / "load.csv")
    write_wide_csv(weather, root / "weather.csv")
    shutil.copyfile(_mlflow_template_db, root / "mlflow.db")  # the default store, already migrated
    common = {"validation_days": 7, "min_train_days": 14, "holiday_country": None, "progress_bar": False}
    models = {
        "nn": {"model": "gridai_nn", "epochs": 2, "hidden_sizes": [8], "history_days": 2, "device": "cpu"},
        "naive": {"model": "seasonal_naive", "baseline_residual_days": 14},
    }
    for name, model in models.items():
        cfg = {
            "forecast": {**common, **model},
            "data": {"load": str(root / "load.csv"), "weather": str(root / "weather.csv")},
            "backtest": {"train_end": TRAIN_END, "test_end": TEST_END},
        }
        (root / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
    return root


def gridai(workdir: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(workdir)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def trained(workdir: Path) -> dict[str, str]:
    """Train both configs through the CLI (once for the module); returns name -> version."""
    mp = pytest.MonkeyPatch()
    try:
        versions = {}
        for name in ("nn", "naive"):
            code, out = gridai(workdir, mp, "train", "-c", f"{name}.yaml")
            assert code == 0, out
            match = re.search(r"version: (\d+)", out)
            assert match and re.search(r"run_id: [0-9a-f]{32}", out), out
            versions[name] = match.group(1)
        return versions
    finally:
        mp.undo()


def _tracking(workdir: Path):  # type: ignore[no-untyped-def]
    from gridai.tracking.config import TrackingConfig
    from gridai.tracking.connection import make_client
    from gridai.tracking.store import ModelStore

    cfg = TrackingConfig(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    return ModelStore(make_client(cfg), cfg)


def test_train_logs_run_to_default_sqlite_store(workdir: Path, trained: dict[str, str]) -> None:
    store = _tracking(workdir)
    assert (workdir / "mlartifacts").is_dir()  # artifacts on the local file system, next to mlflow.db
    mv = store.model_version(trained["nn"])
    run = store.client.get_run(mv.run_id)
    assert (
        run.data.params["forecast.model"] == "gridai_nn"
        and run.data.params["backtest.train_end"] == TRAIN_END
    )
    assert run.inputs.dataset_inputs[0].dataset.digest == run.data.tags["gridai.data.load_sha256"][:32]
    assert float(mv.tags["gridai.backtest.system_mape"]) == pytest.approx(run.data.metrics["system_mape"])
    assert len(store.client.get_metric_history(run.info.run_id, "epoch/train_loss")) >= 2
    artifacts = {a.path for a in store.client.list_artifacts(run.info.run_id, "backtest")}
    assert {"backtest/metrics.json", "backtest/forecasts.csv", "backtest/forecast_vs_actual.png"} <= artifacts


def test_promote_refuses_worse_then_force_and_history(
    workdir: Path, trained: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _tracking(workdir)
    mape = {k: float(store.model_version(v).tags["gridai.backtest.system_mape"]) for k, v in trained.items()}
    best, worst = sorted(trained, key=lambda k: mape[k])
    code, out = gridai(workdir, monkeypatch, "promote", "--version", trained[best])
    assert code == 0, out
    code, out = gridai(workdir, monkeypatch, "promote", "--version", trained[worst])
    assert code == 2 and "does not beat" in out, out
    code, out = gridai(workdir, monkeypatch, "promote", "--version", trained[worst], "--force")
    assert code == 0, out
    code, out = gridai(workdir, monkeypatch, "promote", "--version", trained[best])
    assert code == 0, out  # back to the better one
    code, out = gridai(workdir, monkeypatch, "models", "--json")
    assert code == 0, out
    listing = json.loads(out)
    moves = [(h["to_version"], h["forced"]) for h in listing["alias_history"]]
    assert moves == [(trained[best], False), (trained[worst], True), (trained[best], False)]
    champion = [v for v in listing["versions"] if "champion" in v["aliases"]]
    assert [v["version"] for v in champion] == [trained[best]]


def test_forecast_with_champion_matches_the_registered_model(
    workdir: Path, trained: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gridai.pipelines.training import TrainDataConfig, read_training_data

    gridai(workdir, monkeypatch, "promote", "--version", trained["nn"], "--force")
    code, out = gridai(workdir, monkeypatch, "forecast", "--date", DAY, "-c", "nn.yaml", "--out", "fc")
    assert code == 0, out
    written = xr.open_dataset(workdir / "fc" / "forecast.nc", engine="h5netcdf")
    csv = pd.read_csv(workdir / "fc" / "forecasts.csv")
    assert set(csv["series"]) >= {"system", "series_1"} and len(csv) == written["load_forecast"].size
    model, _ = _tracking(workdir).load_forecaster(f"models:/gridai-load/{trained['nn']}")
    load, weather = read_training_data(
        TrainDataConfig(load=str(workdir / "load.csv"), weather=str(workdir / "weather.csv"))
    )
    expected = model.predict(load, weather, pd.Timestamp(DAY).date())
    np.testing.assert_allclose(written["load_forecast"].values, expected["load_forecast"].values, rtol=1e-12)
    written.close()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--date", "2031-01-01"], 2, "outside the data", id="date-outside-data"),
        pytest.param(["--date", "June 31st"], 2, "not an ISO date", id="not-a-date"),
        pytest.param(["--model-uri", "models:/gridai-load@nope"], 2, "does not exist", id="missing-alias"),
        pytest.param(["--model-uri", "models:/gridai-load/99"], 2, "does not exist", id="missing-version"),
        pytest.param(["--model-uri", "no/such/dir"], 2, "does not exist", id="missing-path"),
        pytest.param(
            ["--tracking-uri", "http://127.0.0.1:{port}"], 5, "unreachable", id="server-unreachable"
        ),
    ],
)
def test_forecast_bad_input(
    workdir: Path,
    trained: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    code: int,
    message: str,
) -> None:
    args = [a.format(port=free_port()) for a in args]
    if "--date" not in args:
        args += ["--date", DAY]
    got, out = gridai(workdir, monkeypatch, "forecast", "-c", "nn.yaml", "--out", "bad", *args)
    assert got == code and message in out, out
    assert not (workdir / "bad" / "forecast.nc").exists()


def test_forecast_corrupted_artifact_exit_2(
    workdir: Path, trained: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _tracking(workdir)
    version = trained["naive"]
    source = Path(store.client.get_model_version_download_uri("gridai-load", version).removeprefix("file://"))
    weights = source / "data" / "payload" / "forecaster" / "arrays.safetensors"
    good = weights.read_bytes()
    try:
        weights.write_bytes(good[: len(good) // 2])
        code, out = gridai(
            workdir, monkeypatch, "forecast", "--date", DAY, "-c", "naive.yaml", "--out", "corrupt",
            "--model-uri", f"models:/gridai-load/{version}",
        )  # fmt: skip
        assert code == 2 and "corrupted" in out, out
        assert not (workdir / "corrupt").exists()
    finally:
        weights.write_bytes(good)


@pytest.mark.parametrize(
    ("config", "extra", "code", "message"),
    [
        pytest.param({"backtest": None}, [], 2, "no 'backtest' section", id="no-backtest"),
        pytest.param(
            {"backtest": {"train_end": "2024-01-01", "test_end": "2024-02-01"}},
            [],
            2,
            "not inside",
            id="period",
        ),
        pytest.param({"forecast": {"modle": "x"}}, [], 2, "unknown key 'forecast.modle'", id="typo-key"),
        pytest.param({}, ["--tracking-uri", "http://127.0.0.1:{port}"], 5, "unreachable", id="unreachable"),
    ],
)
def test_train_bad_input(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, config: dict, extra: list[str], code: int, message: str
) -> None:
    cfg = {**yaml.safe_load((workdir / "naive.yaml").read_text()), **config}
    cfg = {k: v for k, v in cfg.items() if v is not None}
    (workdir / "bad.yaml").write_text(yaml.safe_dump(cfg))
    args = [a.format(port=free_port()) for a in extra]
    got, out = gridai(workdir, monkeypatch, "train", "-c", "bad.yaml", *args)
    assert got == code and message in out, out


def test_train_with_bare_forecast_config_and_period_options(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """configs/forecast/*.yaml hold a bare ForecastConfig; data and period then come from options."""
    flat = {"model": "seasonal_naive", "validation_days": 7, "min_train_days": 14, "holiday_country": None}
    (workdir / "flat.yaml").write_text(
        yaml.safe_dump({**flat, "progress_bar": False, "baseline_residual_days": 14})
    )
    code, out = gridai(
        workdir, monkeypatch, "train", "-c", "flat.yaml", "--no-register",
        "--load", "load.csv", "--weather", "weather.csv", "--train-end", TRAIN_END, "--test-end", TEST_END,
    )  # fmt: skip
    assert code == 0 and "version: -" in out, out
    run_id = re.search(r"run_id: ([0-9a-f]{32})", out)
    assert run_id, out
    run = _tracking(workdir).client.get_run(run_id.group(1))
    assert (
        run.data.params["backtest.test_end"] == TEST_END
        and run.data.params["forecast.model"] == "seasonal_naive"
    )
