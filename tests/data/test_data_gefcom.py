"""The bundled GEFCom2012 data: reader conventions and the known quirks found by the checks."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.data.gefcom import (
    default_directory,
    read_gefcom_holidays,
    read_gefcom_load,
    read_gefcom_temperature,
)
from gridai.data.validation import check_load, check_weather, clean
from gridai.exceptions import GridAIDataError

BLANK_WEEKS = [
    "2005-03-06",
    "2005-06-20",
    "2005-09-10",
    "2005-12-25",
    "2006-02-13",
    "2006-05-25",
    "2006-08-02",
    "2006-11-22",
]


@pytest.fixture(scope="module")
def raw_load() -> xr.Dataset:
    """The load history as the competitors saw it (blank backcast weeks)."""
    return read_gefcom_load(include_solution=False)


@pytest.fixture(scope="module")
def load() -> xr.Dataset:
    return read_gefcom_load()


def test_default_directory_is_the_project_copy() -> None:
    assert default_directory() == Path(__file__).resolve().parents[2] / "data" / "gefcom2012"


def test_load_conventions(load: xr.Dataset) -> None:
    assert load["load"].dims == ("time", "series")
    assert list(load["series"].values) == [f"zone_{i}" for i in range(1, 21)]
    assert set(load["parent"].values) == {"system"}
    assert (
        load.attrs["units"] == "kW"
        and load.attrs["source_interval"] == "end"
        and load.attrs["source_tz"] == "UTC"
    )
    assert load.attrs["interval"] == "start" and load.attrs["resolution"] == "1h"
    t = pd.DatetimeIndex(load["time"].values)
    assert t[0] == pd.Timestamp("2004-01-01 00:00") and t[-1] == pd.Timestamp("2008-06-30 05:00")
    assert (np.diff(t.values) == np.timedelta64(1, "h")).all()
    # h1 of 2004-01-01 (hour ending 01:00, "16,853") is the interval starting 00:00
    assert load["load"].sel(series="zone_1").values[:3].tolist() == [16853.0, 16450.0, 16517.0]
    assert not np.isnan(load["load"].values).any(), "the solution fills every blank week"


def test_blank_weeks_stay_nan_without_solution(raw_load: xr.Dataset, load: xr.Dataset) -> None:
    assert raw_load.attrs["backcast_weeks"][0] == "2005-03-06T00:00:00/2005-03-12T23:00:00"
    assert len(raw_load.attrs["backcast_weeks"]) == 8
    week = raw_load["load"].sel(time=slice("2005-03-06", "2005-03-12"))
    assert week.sizes["time"] == 168 and bool(week.isnull().all())
    # Load_solution, zone 1, 2005-03-06 h1 = 19964
    assert float(load["load"].sel(series="zone_1", time="2005-03-06T00:00")) == 19964.0
    between = slice("2005-03-13", "2005-06-19")
    xr.testing.assert_equal(raw_load["load"].sel(time=between), load["load"].sel(time=between))


def test_forecast_week_on_request() -> None:
    ds = read_gefcom_load(include_forecast_week=True)
    assert pd.Timestamp(ds["time"].values[-1]) == pd.Timestamp("2008-07-07 23:00")
    assert bool(ds["load"].sel(time="2008-06-30T12:00").isnull().all()), (
        "no file holds 2008-06-30 06:00..23:00"
    )
    assert not bool(ds["load"].sel(time=slice("2008-07-01", "2008-07-07")).isnull().any())


def test_temperature_in_celsius_complete_through_june_30() -> None:
    w = read_gefcom_temperature()
    assert w["temperature"].dims == ("time", "station") and w.sizes["station"] == 11
    assert w["temperature"].attrs["units"] == "degC"
    # station 1, 2004-01-01 h1 = 46 F = 7.78 C
    assert float(w["temperature"].sel(station="station_1").values[0]) == pytest.approx((46 - 32) * 5 / 9)
    assert pd.Timestamp(w["time"].values[-1]) == pd.Timestamp("2008-06-30 23:00")
    assert not np.isnan(w["temperature"].values).any()
    # the last 18 hours of 2008-06-30 come from temperature_solution (station 1, hour 7 = 75 F)
    assert float(w["temperature"].sel(station="station_1", time="2008-06-30T06:00")) == pytest.approx(
        (75 - 32) * 5 / 9
    )


def test_holidays() -> None:
    days = read_gefcom_holidays()
    assert dt.date(2004, 1, 1) in days and dt.date(2004, 12, 31) in days  # 2005 New Year observed in 2004
    assert dt.date(2008, 7, 4) in days and len(days) == len(set(days)) == 45


def test_known_quirks_are_found(raw_load: xr.Dataset) -> None:
    findings = check_load(raw_load)
    identical = [f for f in findings if f.kind == "identical_series"]
    assert len(identical) == 1 and identical[0].series == "zone_7" and "zone_3" in identical[0].message
    gaps = [f for f in findings if f.kind == "gap" and f.severity == "error"]
    assert [f.start[:10] for f in gaps if f.start] == BLANK_WEEKS
    assert all(f.series is None and f.count == 168 * 20 for f in gaps)
    shifts = [f for f in findings if f.kind == "level_shift"]
    assert [f.series for f in shifts] == ["zone_10"]
    assert shifts[0].start is not None and shifts[0].start.startswith(("2007-12", "2008-01"))
    with pytest.raises(GridAIDataError, match="2005-03-06") as err:
        check_load(raw_load, strict=True)
    assert "Load_history" in str(err.value)


def test_clean_fills_the_blank_weeks(raw_load: xr.Dataset) -> None:
    window = raw_load.sel(time=slice("2005-02-01", "2005-04-30"))
    findings = check_load(window)
    out = clean(window, findings)
    week = out.sel(time=slice("2005-03-06", "2005-03-12"))
    assert bool(week["imputed"].all()) and not bool(week["load"].isnull().any())
    untouched = ~out["imputed"].values
    np.testing.assert_array_equal(out["load"].values[untouched], window["load"].values[untouched])


def test_weather_checks_pass_strict() -> None:
    w = read_gefcom_temperature()
    assert all(f.severity != "error" for f in check_weather(w, strict=True))


def test_missing_or_broken_files(tmp_path: Path) -> None:
    with pytest.raises(GridAIDataError, match="does not exist"):
        read_gefcom_load(tmp_path / "nope")
    with pytest.raises(GridAIDataError, match="not found"):
        read_gefcom_load(tmp_path)
    (tmp_path / "Load_history.csv").write_text("zone_id,year,month,day,h1\n1,2004,1,1,5\n")
    with pytest.raises(GridAIDataError, match="lacks columns"):
        read_gefcom_load(tmp_path)
    shutil.copy(default_directory() / "Holiday_List.csv", tmp_path / "Holiday_List.csv")
    text = (tmp_path / "Holiday_List.csv").read_text().replace("Thursday, January 1", "Friday, January 1", 1)
    (tmp_path / "Holiday_List.csv").write_text(text)
    with pytest.raises(GridAIDataError, match="weekday"):
        read_gefcom_holidays(tmp_path)
