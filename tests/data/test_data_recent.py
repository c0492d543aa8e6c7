"""Faults in the last days before a forecast are caught, named and dated; clean data is not flagged."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.data.gefcom import read_gefcom_load, read_gefcom_temperature
from gridai.data.recent import check_recent

ISSUE = pd.Timestamp("2008-03-19 10:00")  # D = 2008-03-20, issued 14 h before


@pytest.fixture(scope="module")
def gefcom() -> tuple[xr.Dataset, xr.Dataset]:
    return read_gefcom_load(), read_gefcom_temperature()


def _recent(ds: xr.Dataset, hours: int) -> dict:
    t = ds["time"].values
    return {"time": (t >= np.datetime64(ISSUE - pd.Timedelta(hours=hours))) & (t < np.datetime64(ISSUE))}


def _scale_last(series: str, factor: float, hours: int = 48) -> Callable[[xr.Dataset, xr.Dataset], None]:
    def apply(load: xr.Dataset, weather: xr.Dataset) -> None:
        m = _recent(load, hours)["time"]
        load["load"].loc[{"series": series, "time": load["time"][m]}] *= factor

    return apply


def _missing_last(series: str, hours: int) -> Callable[[xr.Dataset, xr.Dataset], None]:
    def apply(load: xr.Dataset, weather: xr.Dataset) -> None:
        m = _recent(load, hours)["time"]
        load["load"].loc[{"series": series, "time": load["time"][m]}] = np.nan

    return apply


def _one_hour_x100(load: xr.Dataset, weather: xr.Dataset) -> None:
    load["load"].loc[{"series": "zone_12", "time": np.datetime64(ISSUE - pd.Timedelta(hours=20))}] *= 100


def _copy(load: xr.Dataset, weather: xr.Dataset) -> None:
    m = _recent(load, 60)["time"]
    load["load"].loc[{"series": "zone_2", "time": load["time"][m]}] = (
        load["load"].sel(series="zone_1").values[m]
    )


def _degf(load: xr.Dataset, weather: xr.Dataset) -> None:
    m = _recent(weather, 72)["time"]
    sel = {"station": weather["station"].values[3], "time": weather["time"][m]}
    weather["temperature"].loc[sel] = weather["temperature"].loc[sel] * 9 / 5 + 32


@pytest.mark.parametrize(
    ("fault", "kind", "series"),
    [
        pytest.param(_scale_last("zone_5", 1e-3), "unit_change", "zone_5", id="kW-to-MW"),
        pytest.param(_scale_last("zone_5", 1e3), "unit_change", "zone_5", id="kW-to-W"),
        pytest.param(_missing_last("zone_7", 48), "stale", "zone_7", id="last-two-days-missing"),
        pytest.param(_one_hour_x100, "spike", "zone_12", id="one-scada-hour-x100"),
        pytest.param(_copy, "became_copy", "zone_2", id="series-overwritten-by-a-copy"),
        pytest.param(_scale_last("zone_3", 0.3, 30), "level_shift", "zone_3", id="level-drop"),
        pytest.param(_degf, "temperature", None, id="degF-declared-degC"),
    ],
)
def test_fault_is_an_error_naming_series(
    gefcom: tuple[xr.Dataset, xr.Dataset], fault: Callable, kind: str, series: str | None
) -> None:
    load, weather = gefcom[0].copy(deep=True), gefcom[1].copy(deep=True)
    assert not [f for f in check_recent(load, ISSUE, weather=weather) if f.kind == kind], (
        "clean before the fault"
    )
    fault(load, weather)
    found = [f for f in check_recent(load, ISSUE, weather=weather) if f.kind == kind]
    assert found and all(f.severity == "error" for f in found)
    expected = series or str(weather["station"].values[3])
    assert expected in {f.series for f in found}, [f.message for f in found]
    assert expected in found[0].message


def test_no_false_alarms_on_clean_gefcom_days(gefcom: tuple[xr.Dataset, xr.Dataset]) -> None:
    """Every 17th day of 2005-2008 (not the days the defaults were looked at): only the known
    GEFCom2012 quirks are flagged (zone 9's plant shutdowns, zone 4's outage, zone 10's step)."""
    load, weather = gefcom
    flagged: set[str] = set()
    days = pd.date_range("2005-01-05", "2008-06-25", freq="17D")
    for day in days:
        flagged |= {str(f.series) for f in check_recent(load, day - pd.Timedelta(hours=14), weather=weather)}
    assert flagged <= {"zone_9", "zone_4", "zone_10"}, flagged


def test_robust_peak_ignores_one_spike_and_equals_max_on_clean_data(
    gefcom: tuple[xr.Dataset, xr.Dataset],
) -> None:
    from gridai.data.recent import robust_peak

    x = gefcom[0]["load"].sel(series="zone_12").values[-24 * 35 :].astype(float)
    assert robust_peak(x) == np.nanmax(x)
    spiked = x.copy()
    spiked[100] *= 100
    assert robust_peak(spiked) == np.nanmax(x)
    assert np.isnan(robust_peak(np.full(5, np.nan)))
