"""Energy-correct resampling between resolutions (15 min, hourly, daily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.data.options import ReaderOptions
from gridai.data.resample import resample
from gridai.data.sources import read_source
from gridai.data.validation import check_load, clean
from gridai.exceptions import GridAIDataError
from gridai.testing import synthetic_load


def test_aggregate_keeps_energy_and_attrs() -> None:
    ds = synthetic_load(3, days=2, freq="15min")
    ds["imputed"] = xr.zeros_like(ds["load"], dtype=bool)
    ds["imputed"].values[5, 0] = True
    hourly = resample(ds, "1h")
    assert hourly.attrs["resolution"] == "1h" and hourly.attrs["units"] == "kW"
    assert hourly.sizes["time"] == 48 and list(hourly["parent"].values) == list(ds["parent"].values)
    # energy [kWh] = sum(p * dt)
    np.testing.assert_allclose(hourly["load"].sum("time").values * 1.0, ds["load"].sum("time").values * 0.25)
    assert bool(hourly["imputed"].values[1, 0]) and int(hourly["imputed"].sum()) == 1


def test_incomplete_hour_is_nan_not_a_biased_mean() -> None:
    ds = synthetic_load(1, days=1, freq="15min")
    ds["load"].values[5, 0] = np.nan
    dropped = ds.isel(time=[i for i in range(ds.sizes["time"]) if i != 9])
    assert np.isnan(resample(ds, "1h")["load"].values[1, 0])
    assert np.isnan(resample(dropped, "1h")["load"].values[2, 0])


def test_disaggregate_repeats_power() -> None:
    ds = synthetic_load(2, days=1)
    quarter = resample(ds, "15min")
    assert quarter.sizes["time"] == 96
    np.testing.assert_array_equal(quarter["load"].values[:4], np.repeat(ds["load"].values[:1], 4, axis=0))
    xr.testing.assert_allclose(resample(quarter, "1h")["load"], ds["load"])


@pytest.mark.parametrize("target", ["7min", "45min", "bogus"])
def test_incompatible_resolution(target: str) -> None:
    with pytest.raises(GridAIDataError):
        resample(synthetic_load(1, days=1, freq="30min"), target)


# Daily data disaggregated to hours used to come out all NaN: each day's constant power is a 24 h
# constant run, which the flatline check flagged and cleaning blanked.
@pytest.mark.parametrize(
    ("units", "factor"),
    [pytest.param("kWh", 1 / 24, id="energy-per-day"), pytest.param("kW", 1.0, id="mean-power")],
)
def test_daily_to_hourly_is_energy_correct_and_survives_cleaning(
    tmp_path: Path, units: str, factor: float
) -> None:
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    daily = 24_000 + 2_000 * np.sin(np.arange(60) / 7) + rng.normal(0, 500, 60)
    path = tmp_path / "daily.csv"
    pd.DataFrame({"timestamp": days.strftime("%Y-%m-%d"), "a": daily}).to_csv(path, index=False)
    ds = read_source(path, "load", ReaderOptions(units=units, resolution="1h"))
    assert ds.sizes["time"] == 60 * 24 and ds.attrs["disaggregated_from"] == "24h"
    np.testing.assert_allclose(ds["load"].values[:, 0], np.repeat(daily * factor, 24))
    findings = check_load(ds)
    assert not [f for f in findings if f.kind in ("flatline", "zero_flatline")], findings
    cleaned = clean(ds, findings)
    assert not np.isnan(cleaned["load"].values).any()
    energy_kwh = cleaned["load"].values[:, 0].reshape(60, 24).sum(axis=1)  # 1 h steps
    np.testing.assert_allclose(energy_kwh, daily * factor * 24)


def test_daily_to_hourly_still_flags_a_flatline_across_days() -> None:
    ds = synthetic_load(1, days=10, freq="1D")
    ds["load"].values[3:6, 0] = 500.0  # three equal days: constant at the daily resolution
    hourly = resample(ds, "1h")
    flat = [f for f in check_load(hourly) if f.kind == "flatline"]
    assert flat and flat[0].count == 72


@pytest.mark.parametrize(
    ("chain", "held"),
    [
        pytest.param(("1h",), "24h", id="day-to-hour"),
        pytest.param(("1h", "15min"), "24h", id="day-to-hour-to-quarter"),
        pytest.param(("1h", "3h"), "24h", id="partly-back-up"),
        pytest.param(("1h", "1D"), None, id="back-to-daily"),
    ],
)
def test_disaggregated_from_follows_resampling(chain: tuple[str, ...], held: str | None) -> None:
    ds = synthetic_load(1, days=4, freq="1D")
    for step in chain:
        ds = resample(ds, step)
    assert ds.attrs.get("disaggregated_from") == held
