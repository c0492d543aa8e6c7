"""Backtest, metrics, reconciliation and the ``gridai backtest`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gridai.cli.main import app
from gridai.exceptions import GridAIDataError
from gridai.forecast.backtest import run_backtest
from gridai.forecast.metrics import accuracy, coverage, mape, pinball, rmse
from gridai.forecast.panel import Hierarchy
from gridai.forecast.reconcile import RECONCILERS, reconcile, shrink_covariance
from gridai.testing import synthetic_load, write_wide_csv

from support import load_and_weather, tiny_forecast_config

KEYS = {"mape", "rmse", "accuracy", "pinball", "crps", "coverage50", "coverage80"}


def test_metrics_known_values() -> None:
    y, f = np.array([100.0, 200.0]), np.array([110.0, 180.0])
    assert mape(y, f) == pytest.approx(10.0)
    assert rmse(y, f) == pytest.approx(np.sqrt((100 + 400) / 2))
    assert accuracy(y, f) == pytest.approx(90.0)
    assert pinball(np.array([10.0]), np.array([[8.0, 12.0]]), [0.1, 0.9]) == pytest.approx((0.2 + 0.2) / 2)
    assert coverage(
        np.array([1.0, 5.0, 9.0]), np.array([0.0, 0.0, 0.0]), np.array([6.0, 6.0, 6.0])
    ) == pytest.approx(2 / 3)
    assert mape(np.array([np.nan, 100.0]), np.array([1.0, 90.0])) == pytest.approx(10.0)


def test_reconciliation_methods_coherent_and_noncrossing() -> None:
    load = synthetic_load(3, days=3, parents={"series_1": "north", "series_2": "north"})
    h = Hierarchy.from_dataset(load)
    assert h.nodes == ["system", "north", "series_1", "series_2", "series_3"]
    rng = np.random.default_rng(0)
    base_med = rng.uniform(50, 150, size=(4, 24, len(h.nodes)))
    spread = np.cumsum(rng.uniform(0, 5, size=(4, 24, len(h.nodes), 5)), axis=-1)
    base = base_med[..., None] + spread - spread[..., [2]]
    residuals = rng.normal(size=(200, len(h.nodes)))
    history = rng.uniform(10, 20, size=(100, 3)) @ h.s_matrix.T
    for name, fn in RECONCILERS.items():
        p = fn(h, residuals, history)
        q, mean = reconcile(h, p, base, 2)
        for arr in (q[..., 2], mean):
            np.testing.assert_allclose(arr[..., 0], arr[..., 2:].sum(-1), rtol=1e-9, err_msg=name)
            np.testing.assert_allclose(arr[..., 1], arr[..., 2:4].sum(-1), rtol=1e-9, err_msg=name)
        assert np.all(np.diff(q, axis=-1) >= -1e-9), name
    # bottom-up keeps the leaves; MinT of an already coherent forecast changes nothing
    coherent = base.copy()
    coherent[..., 2] = base[..., 2:, 2] @ h.s_matrix.T
    q, _ = reconcile(h, RECONCILERS["mint_shrink"](h, residuals, history), coherent, 2)
    np.testing.assert_allclose(q[..., 2], coherent[..., 2], rtol=1e-8)


def test_shrinkage_between_sample_and_diagonal() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 6)) @ rng.normal(size=(6, 6))
    w = shrink_covariance(x)
    sample = np.cov(x, rowvar=False)
    np.testing.assert_allclose(np.diag(w), np.diag(sample), rtol=1e-6)
    off = ~np.eye(6, dtype=bool)
    assert np.all(np.abs(w[off]) <= np.abs(sample[off]) + 1e-12)
    assert np.all(np.linalg.eigvalsh(w) > 0)


@pytest.fixture(scope="module")
def csvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bt")
    load, weather = load_and_weather(days=80)
    write_wide_csv(load, d / "load.csv")
    write_wide_csv(weather, d / "weather.csv")
    short = weather.sel(time=slice(None, "2023-03-10"))
    write_wide_csv(short, d / "weather_short.csv")
    return {"dir": d, "load": d / "load.csv", "weather": d / "weather.csv", "short": d / "weather_short.csv"}


def test_run_backtest_metrics_and_files(tmp_path: Path) -> None:
    load, weather = load_and_weather(days=80)
    cfg = tiny_forecast_config(model="vanilla")
    res = run_backtest(
        cfg,
        load,
        weather,
        train_end="2023-03-06",
        test_end="2023-03-20",
        retrain_every_days=7,
        progress=False,
    )
    m = res.metrics
    assert set(m["series"]) == {"series_1", "series_2", "series_3"} and set(m["system"]) == KEYS
    assert m["model"] == "vanilla" and m["issue_lead_hours"] == 14 and m["weather"] == "observed"
    assert set(m["reconciliation"]["methods"]) == {"bottom_up", "top_down", "mint_shrink"}
    assert len(res.forecasters) == 2  # retrained every 7 days over 14 days
    assert len(res.forecasts) == 14 * 24 * 4 and res.forecasts["actual"].notna().all()
    naive = run_backtest(
        cfg.model_copy(update={"model": "seasonal_naive"}),
        load,
        weather,
        train_end="2023-03-06",
        test_end="2023-03-20",
        progress=False,
    ).metrics
    assert m["system"]["mape"] < naive["system"]["mape"]
    res.write(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["error_by_hour.png", "forecast_vs_actual.png", "forecasts.csv", "metrics.json"]
    assert json.loads((tmp_path / "metrics.json").read_text())["system"]["mape"] == pytest.approx(
        m["system"]["mape"]
    )


def test_cli_backtest(csvs: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    args = [
        "backtest",
        "--load",
        str(csvs["load"]),
        "--weather",
        str(csvs["weather"]),
        "--train-end",
        "2023-03-10",
        "--test-end",
        "2023-03-14",
        "--model",
        "seasonal_naive",
        "--no-progress",
        "--out",
        str(out),
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    m = json.loads((out / "metrics.json").read_text())
    assert m["model"] == "seasonal_naive" and set(m["system"]) == KEYS
    assert (out / "forecast_vs_actual.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"--model": "lstm"}, "unknown model 'lstm'", id="unknown-model"),
        pytest.param({"--test-end": "2024-01-01"}, "outside the load data", id="date-outside-data"),
        pytest.param({"--weather": "short"}, "missing for target day", id="weather-missing"),
    ],
)
def test_cli_backtest_bad_input(
    csvs: dict[str, Path], tmp_path: Path, change: dict[str, str], message: str
) -> None:
    opts = {
        "--load": str(csvs["load"]),
        "--weather": str(csvs["weather"]),
        "--train-end": "2023-03-10",
        "--test-end": "2023-03-14",
        "--model": "seasonal_naive",
        "--out": str(tmp_path / "out"),
    }
    for k, v in change.items():
        opts[k] = str(csvs[v]) if v in csvs else v
    r = CliRunner().invoke(app, ["backtest", "--no-progress", *[x for kv in opts.items() for x in kv]])
    assert r.exit_code == 2, r.output
    assert message in r.output.replace("\n", " ")
    assert not (tmp_path / "out" / "metrics.json").exists()


@pytest.mark.parametrize("strict", [False, True], ids=["masked", "strict"])
def test_backtest_checks_every_test_day_before_training(
    monkeypatch: pytest.MonkeyPatch, strict: bool
) -> None:
    """Observed weather missing on the first test day: masked and listed (or, strict, an error that
    names the day), decided before any model is trained."""
    load, weather = load_and_weather(days=80)
    t = weather["time"].values
    gap = (t >= np.datetime64("2023-03-05")) & (t < np.datetime64("2023-03-07"))
    weather["temperature"].values[gap, :] = np.nan  # D = 03-06 and the day before it
    cfg = tiny_forecast_config(model="seasonal_naive")
    if strict:
        import gridai.forecast.backtest as bt

        def no_training(*args: object, **kw: object) -> None:
            raise AssertionError("trained before the inputs were checked")

        monkeypatch.setattr(bt, "make_forecaster", no_training)
        with pytest.raises(GridAIDataError, match="2023-03-06"):
            run_backtest(
                cfg, load, weather, train_end="2023-03-06", test_end="2023-03-10", progress=False, strict=True
            )
        return
    res = run_backtest(cfg, load, weather, train_end="2023-03-06", test_end="2023-03-10", progress=False)
    assert res.metrics["masked_days"] == ["2023-03-06", "2023-03-07"]
    assert res.metrics["n_days"] == 2
    assert pd.DatetimeIndex(res.forecasts["time"]).normalize().min() == pd.Timestamp("2023-03-08")
