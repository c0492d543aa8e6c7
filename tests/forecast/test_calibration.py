"""Quantile calibration: conformal coverage on known noise, non-crossing, identity, artifact round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from safetensors.numpy import load_file, save_file
from scipy.stats import norm

from gridai.forecast.base import ARTIFACT_ARRAYS, ARTIFACT_JSON, CALIBRATION_PREFIX, Forecaster
from gridai.forecast.calibration import QuantileCalibration, fit_cqr, hour_of_step
from gridai.forecast.config import ForecastConfig
from gridai.forecast.metrics import score
from gridai.forecast.registry import load_forecaster, make_forecaster

from support import load_and_weather, tiny_forecast_config

LEVELS = [0.1, 0.25, 0.5, 0.75, 0.9]
MEDIAN = 2
DAY = "2023-03-28"


def _gaussian_days(n_days: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two nodes of Gaussian noise with an hourly standard deviation of 5..25 kW around 100 / 300 kW.

    Returns the actuals ``(day, 24, node)``, the true quantiles and an under-dispersed forecast
    (the true median, offsets at 0.6 of the true ones) ``(day, 24, node, quantile)``.
    """
    rng = np.random.default_rng(seed)
    sd = 15.0 + 10.0 * np.sin(2 * np.pi * np.arange(24) / 24)  # [kW], heteroscedastic by hour
    mean = np.array([100.0, 300.0])
    actual = mean + sd[None, :, None] * rng.standard_normal((n_days, 24, 2))
    z = norm.ppf(LEVELS)
    true_q = np.broadcast_to(mean[None, None, :, None] + sd[None, :, None, None] * z, (n_days, 24, 2, 5))
    narrow = mean[None, None, :, None] + 0.6 * sd[None, :, None, None] * z
    return actual, true_q, np.broadcast_to(narrow, (n_days, 24, 2, 5)).copy()


@pytest.mark.parametrize("hourly", [pytest.param(True, id="cqr_hourly"), pytest.param(False, id="cqr")])
def test_under_dispersed_gaussian_gets_nominal_coverage_on_held_out_days(hourly: bool) -> None:
    val_y, _, val_q = _gaussian_days(120, seed=0)
    test_y, true_q, test_q = _gaussian_days(2000, seed=1)
    before = score(test_y, test_q, LEVELS)
    assert before["coverage80"] < 0.65  # the forecast is clearly over-confident
    cal = fit_cqr(val_y, val_q, val_q[..., MEDIAN], LEVELS, MEDIAN, hourly=hourly)
    after_q = cal.apply(test_q, MEDIAN)
    after = score(test_y, after_q, LEVELS)
    # conformal quantiles of 120 days x 3 pooled hours are a little conservative (+1/(n+1) per level)
    assert 0.77 <= after["coverage80"] <= 0.85
    assert 0.46 <= after["coverage50"] <= 0.56
    for k, tau in enumerate(LEVELS):
        assert np.mean(test_y <= after_q[..., k]) == pytest.approx(tau, abs=0.035), tau
    assert after["pinball"] < before["pinball"]
    assert after["pinball"] < 1.03 * score(test_y, true_q, LEVELS)["pinball"]
    np.testing.assert_array_equal(after_q[..., MEDIAN], test_q[..., MEDIAN])  # point forecast untouched
    # the offsets were widened by about 1 / 0.6 at every hour: heteroscedasticity kept
    assert np.all((cal.factors[..., [0, 1, 3, 4]] > 1.3) & (cal.factors[..., [0, 1, 3, 4]] < 2.1))


@given(
    arrays(np.float64, (3, 24, 2, 5), elements=st.floats(-1e4, 1e4)),
    arrays(np.float64, (24, 2, 5), elements=st.floats(0.0, 5.0)),
)
def test_calibration_never_crosses_and_keeps_the_median(raw: np.ndarray, factors: np.ndarray) -> None:
    q = np.sort(raw, axis=-1)  # a non-crossing base forecast
    out = QuantileCalibration(factors).apply(q, MEDIAN)
    assert np.all(np.diff(out, axis=-1) >= 0)
    np.testing.assert_array_equal(out[..., MEDIAN], q[..., MEDIAN])


def test_calibration_rearranges_crossing_levels() -> None:
    """Factors that would put the 0.75 level above the 0.9 level are sorted back (rearrangement)."""
    factors = np.ones((24, 1, 5))
    factors[..., 3] = 4.0  # 0.75 offset x 4 beyond the 0.9 offset
    q = np.array([80.0, 90.0, 100.0, 110.0, 120.0])[None, None, None, :].repeat(24, axis=1)
    out = QuantileCalibration(factors).apply(q, MEDIAN)
    np.testing.assert_array_equal(out[0, 0, 0], [80.0, 90.0, 100.0, 120.0, 140.0])


def test_hour_of_step_quarter_hours() -> None:
    assert list(hour_of_step(96)[:5]) == [0, 0, 0, 0, 1] and hour_of_step(96)[-1] == 23
    assert list(hour_of_step(24)) == list(range(24))


def test_band_metrics_on_a_known_case() -> None:
    y = np.array([100.0, 130.0])
    q = np.array([[80.0, 90.0, 100.0, 110.0, 120.0], [80.0, 90.0, 100.0, 110.0, 120.0]])
    s = score(y, q, LEVELS)
    assert s["coverage80"] == 0.5 and s["coverage50"] == 0.5
    assert s["crps"] == pytest.approx(2.0 * s["pinball"])
    # a level missing from the forecast is interpolated: 0.25 between 0.2 and 0.3 (70 .. 80 -> 75)
    s9 = score(
        np.array([74.0, 76.0]), np.tile(np.linspace(60.0, 140.0, 9), (2, 1)), [0.1 * k for k in range(1, 10)]
    )
    assert s9["coverage50"] == 0.5
    assert np.isnan(score(y, q[:, 1:4], LEVELS[1:4])["coverage80"])


# ----------------------------------------------------------------------------- in the forecaster
@pytest.fixture(scope="module")
def data() -> tuple[xr.Dataset, xr.Dataset]:
    return load_and_weather(days=100)


def _fit(cfg: ForecastConfig, data: tuple[xr.Dataset, xr.Dataset]) -> Forecaster:
    load, weather = data
    return make_forecaster(cfg).fit(load, weather, end=pd.Timestamp("2023-03-25"))


@pytest.fixture(scope="module")
def pair(data: tuple[xr.Dataset, xr.Dataset]) -> dict[str, Forecaster]:
    """The tiny network fitted with and without calibration (same seed: the same network)."""
    return {c: _fit(tiny_forecast_config(calibration=c), data) for c in ("none", "cqr")}


def _roundtrip(model: Forecaster, directory: Path, *, drop_calibration: bool = False) -> Forecaster:
    """Save ``model`` and load it back; ``drop_calibration`` removes the calibration arrays in between
    (what an artifact saved before calibration existed holds)."""
    model.save(directory)
    if drop_calibration:
        arrays = load_file(str(directory / ARTIFACT_ARRAYS))
        kept = {k: v for k, v in arrays.items() if not k.startswith(CALIBRATION_PREFIX)}
        assert len(kept) < len(arrays)
        save_file(kept, str(directory / ARTIFACT_ARRAYS))
        # an artifact from before calibration also predates the weights' digest
        meta = json.loads((directory / ARTIFACT_JSON).read_text(encoding="utf-8"))
        meta.pop("arrays_sha256", None)
        (directory / ARTIFACT_JSON).write_text(json.dumps(meta), encoding="utf-8")
    return load_forecaster(directory)


def test_calibration_off_is_the_uncalibrated_forecast(
    pair: dict[str, Forecaster], data: tuple, tmp_path: Path
) -> None:
    load, weather = data
    off, on = pair["none"], pair["cqr"]
    assert off.calibrations == {} and off.info["calibration"] == {"method": "none"}
    assert set(on.calibrations) == set(on.projections)
    # a refit before the window (half the 81 usable days) forecast the window's days out of sample
    info = on.info["calibration"]
    assert info["source"] == "refit before the window" and info["days"] == 40
    assert info["last"] < "2023-03-25" and info["window_root"]["coverage80_after"] >= 0.7
    q_off = off.predict(load, weather, DAY)["load_forecast"].values
    q_on = on.predict(load, weather, DAY)["load_forecast"].values
    np.testing.assert_array_equal(q_on[..., MEDIAN], q_off[..., MEDIAN])  # medians (and MAPE) unchanged
    assert not np.array_equal(q_on, q_off)
    # the calibrated model with its calibration arrays removed is exactly the uncalibrated one
    cleared = _roundtrip(on, tmp_path, drop_calibration=True)
    assert cleared.calibrations == {}
    np.testing.assert_array_equal(cleared.predict(load, weather, DAY)["load_forecast"].values, q_off)


def test_saved_calibration_round_trips(pair: dict[str, Forecaster], data: tuple, tmp_path: Path) -> None:
    load, weather = data
    on = pair["cqr"]
    back = _roundtrip(on, tmp_path)
    assert set(back.calibrations) == set(on.calibrations)
    for m, cal in on.calibrations.items():
        np.testing.assert_array_equal(back.calibrations[m].factors, cal.factors)
    a = on.predict(load, weather, DAY)
    b = back.predict(load, weather, DAY)
    np.testing.assert_array_equal(a["load_forecast"].values, b["load_forecast"].values)
    np.testing.assert_array_equal(a["load_mean"].values, b["load_mean"].values)
    fc = a["load_forecast"]
    assert np.all(np.diff(fc.values, axis=-1) >= 0), "quantiles cross after calibration"
    leaves = ["series_1", "series_2", "series_3"]
    for var in (fc.sel(quantile=0.5), a["load_mean"]):  # coherent after calibration + reconciliation
        np.testing.assert_allclose(var.sel(series="system"), var.sel(series=leaves).sum("series"), rtol=1e-6)


def test_model_saved_without_calibration_predicts_as_trained(
    pair: dict[str, Forecaster], data: tuple, tmp_path: Path
) -> None:
    """An artifact from before calibration (no calibration arrays, no config key) is the identity."""
    load, weather = data
    off = pair["none"]
    expected = off.predict(load, weather, DAY)["load_forecast"].values
    off.save(tmp_path)
    doc_path = tmp_path / ARTIFACT_JSON
    doc = json.loads(doc_path.read_text())
    del doc["config"]["calibration"]  # as written before the field existed
    doc_path.write_text(json.dumps(doc))
    old = load_forecaster(tmp_path)
    assert old.cfg.calibration == ForecastConfig().calibration and old.calibrations == {}
    np.testing.assert_array_equal(old.predict(load, weather, DAY)["load_forecast"].values, expected)


def test_calibration_on_the_validation_days_keeps_the_early_stopped_model(data: tuple) -> None:
    """``calibration_days`` within the validation days: no extra training, the fitted network is kept."""
    load, weather = data
    cfg = tiny_forecast_config(refit_full=False)
    off = _fit(cfg.model_copy(update={"calibration": "none"}), data)
    on = _fit(cfg.model_copy(update={"calibration_days": 7}), data)
    assert on.info["calibration"] == {**on.info["calibration"], "source": "validation days", "days": 14}
    q_off = off.predict(load, weather, DAY)["load_forecast"].values
    on.calibrations = {}
    np.testing.assert_array_equal(on.predict(load, weather, DAY)["load_forecast"].values, q_off)


def test_refit_for_the_window_leaves_the_fitted_model_as_it_was(data: tuple) -> None:
    """Without ``refit_full`` the served network is the early-stopped one, not the window's refit."""
    load, weather = data
    cfg = tiny_forecast_config(refit_full=False)
    off = _fit(cfg.model_copy(update={"calibration": "none"}), data)
    on = _fit(cfg, data)
    assert on.info["calibration"]["source"] == "refit before the window"
    assert on.history == off.history  # the window's training is not in the model's history
    q_off = off.predict(load, weather, DAY)["load_forecast"].values
    on.calibrations = {}
    np.testing.assert_array_equal(on.predict(load, weather, DAY)["load_forecast"].values, q_off)
