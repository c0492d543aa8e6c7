"""Energy-correct resampling between 15 min and hourly."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from gridai.data.resample import resample
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
