"""Generic readers: wide CSV, long CSV/Parquet, weather forecasts; time zones and DST."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.data.io import write_parquet
from gridai.data.options import ReaderOptions
from gridai.data.readers import read_long, read_weather_forecast_wide, read_wide_csv
from gridai.data.schema import weather_known_at
from gridai.data.sources import read_source
from gridai.exceptions import GridAIDataError
from gridai.testing import dst_local_csv, synthetic_load, synthetic_weather, write_long_csv, write_wide_csv


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("transition", ["spring", "fall"])
@pytest.mark.parametrize("freq", ["1h", "15min"])
def test_local_time_around_dst_reads_to_the_utc_truth(tmp_path: Path, transition: str, freq: str) -> None:
    path, truth = dst_local_csv(tmp_path / "local.csv", transition=transition, freq=freq)  # type: ignore[arg-type]
    ds = read_wide_csv(path, opts=ReaderOptions(tz="Europe/Amsterdam"))
    np.testing.assert_array_equal(ds["time"].values, truth["time"].values)
    np.testing.assert_allclose(ds["load"].values, truth["load"].values, rtol=1e-12)
    assert ds.attrs["source_tz"] == "Europe/Amsterdam"
    repeats = ds.attrs["dst_repeats_resolved"]
    assert repeats == (0 if transition == "spring" else pd.Timedelta("1h") // pd.Timedelta(freq))


def test_explicit_offsets_need_no_tz(tmp_path: Path) -> None:
    # 02:30 summer time, 02:30 winter time (the repeated hour), then 02:30 UTC
    path = _write(
        tmp_path / "o.csv",
        "time,a\n2024-10-27T02:30+02:00,1\n2024-10-27T02:30+01:00,2\n2024-10-27T02:30Z,3\n",
    )
    ds = read_wide_csv(path)
    assert [str(t)[11:16] for t in ds["time"].values] == ["00:30", "01:30", "02:30"]


def test_timestamp_column_detection_and_hour_ending(tmp_path: Path) -> None:
    path = _write(tmp_path / "named.csv", "meter,Date,other\n1,2024-01-01 00:00,5\n2,2024-01-01 01:00,6\n")
    ds = read_wide_csv(path)
    assert list(ds["series"].values) == ["meter", "other"]
    path = _write(tmp_path / "he.csv", "Date,a\n2024-01-01 23:00,1\n2024-01-01 24:00,2\n2024-01-02 01:00,3\n")
    ds = read_wide_csv(path, opts=ReaderOptions(interval="end"))
    assert [str(t)[11:16] for t in ds["time"].values] == ["22:00", "23:00", "00:00"]
    assert ds.attrs["source_interval"] == "end" and ds.attrs["interval"] == "start"
    with pytest.raises(GridAIDataError, match="missing timestamp column 'when'"):
        read_wide_csv(path, timestamp_col="when")


def test_energy_units_and_fahrenheit(tmp_path: Path) -> None:
    ds = synthetic_load(2, days=1, freq="15min")
    path = write_wide_csv(ds, tmp_path / "kwh.csv", energy=True, interval="end")
    back = read_wide_csv(path, opts=ReaderOptions(units="kWh", interval="end"))
    np.testing.assert_allclose(back["load"].values, ds["load"].values, rtol=1e-12)
    np.testing.assert_array_equal(back["time"].values, ds["time"].values)
    path = _write(tmp_path / "w.csv", "timestamp,s1\n2024-01-01 00:00,32\n2024-01-01 01:00,212\n")
    w = read_wide_csv(path, kind="weather", opts=ReaderOptions(temperature_units="degF"))
    assert w["temperature"].values[:, 0].tolist() == pytest.approx([0.0, 100.0])
    mw = read_wide_csv(
        _write(tmp_path / "w2.csv", "timestamp,s\n2024-01-01 00:00,1500\n2024-01-01 01:00,1\n"),
        opts=ReaderOptions(units="W"),
    )
    assert mw.attrs["units"] == "kW" and mw["load"].values[0, 0] == pytest.approx(1.5)


def test_resolution_option_resamples(tmp_path: Path) -> None:
    ds = synthetic_load(2, days=1, freq="15min")
    path = write_wide_csv(ds, tmp_path / "q.csv")
    hourly = read_wide_csv(path, opts=ReaderOptions(resolution="1h"))
    assert hourly.sizes["time"] == 24 and hourly.attrs["resolution"] == "1h"
    np.testing.assert_allclose(hourly["load"].values[0], ds["load"].values[:4].mean(axis=0))


def test_long_csv_and_parquet(tmp_path: Path) -> None:
    ds = synthetic_load(3, days=2)
    back = read_long(
        write_long_csv(ds, tmp_path / "long.csv", tz="America/New_York"),
        opts=ReaderOptions(tz="America/New_York"),
    )
    np.testing.assert_allclose(back["load"].values, ds["load"].values)
    frame = pd.DataFrame(
        {
            "timestamp": np.repeat(pd.DatetimeIndex(ds["time"].values), 3),
            "series_id": np.tile(["series_1", "series_2", "series_3"], ds.sizes["time"]),
            "value": ds["load"].values.ravel(),
        }
    ).sample(frac=1.0, random_state=0)  # any row order
    pq = write_parquet(frame, tmp_path / "long.parquet")
    back = read_long(pq)
    np.testing.assert_allclose(back["load"].values, ds["load"].values)
    with pytest.raises(GridAIDataError, match="missing columns"):
        read_long(_write(tmp_path / "x.csv", "time,id,v\n2024-01-01,a,1\n"))


def test_weather_forecast_issue_times(tmp_path: Path) -> None:
    w = synthetic_weather(2, days=3)
    path = write_wide_csv(w, tmp_path / "WF.csv")
    fc = read_weather_forecast_wide(path)
    assert fc["temperature"].dims == ("issue_time", "time", "station")
    assert [str(t)[:16] for t in fc["issue_time"].values] == [
        "2022-12-31T00:00",
        "2023-01-01T00:00",
        "2023-01-02T00:00",
    ]
    known = weather_known_at(fc, pd.Timestamp("2023-01-01 12:00"))
    day2 = known["temperature"].sel(time=slice("2023-01-02", "2023-01-02"))
    np.testing.assert_allclose(
        day2.values, w["temperature"].sel(time=slice("2023-01-02", "2023-01-02")).values
    )
    assert bool(known["temperature"].sel(time="2023-01-03T00:00").isnull().all()), "day 3 not yet issued"
    late = _write(tmp_path / "late.csv", "timestamp,issue_time,s\n2024-01-01 00:00,2024-01-01 06:00,1\n")
    with pytest.raises(GridAIDataError, match="issued after"):
        read_weather_forecast_wide(late)


def test_read_source_dispatch(tmp_path: Path) -> None:
    ds = synthetic_load(2, days=1)
    wide = write_wide_csv(ds, tmp_path / "w.csv")
    long = write_long_csv(ds, tmp_path / "l.csv")
    for path in (wide, long):
        xr.testing.assert_allclose(read_source(path, "load")["load"], ds["load"])
    with pytest.raises(GridAIDataError, match="is a directory"):
        read_source(tmp_path, "load")
    assert read_source("gefcom2012", "weather", ReaderOptions(resolution="2h")).attrs["resolution"] == "2h"
