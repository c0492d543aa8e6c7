"""Public data factories for tests, examples and benchmarks.

Every factory is deterministic for a given ``seed`` and returns canonical datasets
(:mod:`gridai.data.schema`) or writes files in the formats the readers accept, so tests of any
part of gridai can build inputs without touching the bundled data.

* :func:`synthetic_load` -- hourly (or any step) feeder/zone load with daily and weekly cycles
  and a temperature response; optional hierarchy.
* :func:`synthetic_weather` -- station temperatures with seasonal and daily cycles.
* :func:`synthetic_weather_forecast` -- day-ahead forecasts ``(issue_time, time, station)``.
* :func:`synthetic_meter_data` -- many 15-minute smart-meter series, some with rooftop PV
  (net load with exact nightly zeros of the PV part), for scale tests.
* :func:`write_wide_csv` / :func:`write_long_csv` -- write datasets as user files, optionally in
  local time (DST gaps skipped, fall-back hours repeated), hour-ending labels or kWh.
* :func:`dst_local_csv` -- a small local-time CSV around a spring-forward or fall-back transition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from gridai.data.schema import make_load_dataset, make_weather_dataset

HOURS_PER_DAY = 24.0


def _time(start: str, days: float, freq: str) -> pd.DatetimeIndex:
    step = pd.Timedelta(freq)
    n = int(round(pd.Timedelta(days=days) / step))
    return pd.date_range(pd.Timestamp(start), periods=n, freq=step)


def _temperature_c(time: pd.DatetimeIndex, rng: np.random.Generator, n: int) -> np.ndarray:
    """Seasonal (+-10 degC around 10 degC, coldest mid-January) and daily (+-4 degC, warmest 15:00) cycles."""
    doy = np.asarray(time.dayofyear, dtype=float)
    hour = np.asarray(time.hour + time.minute / 60.0)
    base = 10.0 - 10.0 * np.cos(2 * np.pi * (doy - 15) / 365.25) + 4.0 * np.cos(2 * np.pi * (hour - 15) / 24)
    offsets = rng.normal(0.0, 1.5, size=n)
    noise = rng.normal(0.0, 0.7, size=(len(time), n))
    return base[:, None] + offsets[None, :] + noise


def synthetic_weather(
    n_stations: int = 2, *, start: str = "2023-01-01", days: float = 28, freq: str = "1h", seed: int = 0
) -> xr.Dataset:
    """Station temperatures [degC], ``station_1..station_n``."""
    rng = np.random.default_rng(seed)
    time = _time(start, days, freq)
    temp = _temperature_c(time, rng, n_stations)
    return make_weather_dataset(temp, time, [f"station_{i + 1}" for i in range(n_stations)])


def synthetic_load(
    n_series: int = 3,
    *,
    start: str = "2023-01-01",
    days: float = 28,
    freq: str = "1h",
    seed: int = 0,
    base_kw: float = 100.0,
    units: str = "kW",
    parents: Mapping[str, str] | None = None,
    weather: xr.Dataset | None = None,
) -> xr.Dataset:
    """Load [kW] of ``series_1..series_n``: daily and weekly cycles, heating/cooling response, noise.

    ``p = base * scale_s * (1 + 0.3 daily + weekend dip) + 0.02 base * (|T - 16 degC|) + noise``;
    the temperature is ``weather``'s station mean if given, else a synthetic one. Always positive.
    """
    rng = np.random.default_rng(seed)
    time = _time(start, days, freq)
    if weather is not None:
        temp = weather["temperature"].mean("station").reindex(time=time.values).values
    else:
        temp = _temperature_c(time, rng, 1)[:, 0]
    hour = np.asarray(time.hour + time.minute / 60.0)
    weekend = np.asarray(time.dayofweek >= 5, dtype=float)
    shape = 1.0 + 0.3 * np.sin(2 * np.pi * (hour - 8) / 24) - 0.15 * weekend
    scale = rng.uniform(0.5, 2.0, size=n_series)
    values = base_kw * scale[None, :] * shape[:, None]
    values += 0.02 * base_kw * scale[None, :] * np.abs(temp - 16.0)[:, None]
    values += rng.normal(0.0, 0.03 * base_kw, size=values.shape) * scale[None, :]
    values = np.maximum(values, 0.05 * base_kw)
    names = [f"series_{i + 1}" for i in range(n_series)]
    return make_load_dataset(values, time, names, units=units, parents=parents)


def synthetic_weather_forecast(
    n_stations: int = 2, *, start: str = "2023-01-01", days: int = 7, seed: int = 0, error_c: float = 1.0
) -> xr.Dataset:
    """Day-ahead forecasts ``temperature (issue_time, time, station)`` [degC]: one issue per target
    day at 00:00 UTC of the previous day, covering that day's 24 hours (NaN elsewhere)."""
    obs = synthetic_weather(n_stations, start=start, days=days, seed=seed)
    rng = np.random.default_rng(seed + 1)
    time = pd.DatetimeIndex(obs["time"].values)
    issues = pd.date_range(time[0].normalize() - pd.Timedelta(days=1), periods=days, freq="D")
    cube = np.full((days, len(time), n_stations), np.nan)
    values = obs["temperature"].values
    for i in range(days):  # one block per issue (days, not timestamps)
        rows = slice(24 * i, 24 * (i + 1))
        cube[i, rows, :] = values[rows] + rng.normal(0.0, error_c, size=values[rows].shape)
    ds = xr.Dataset(
        {"temperature": (("issue_time", "time", "station"), cube)},
        coords={"issue_time": issues.values, "time": time.values, "station": obs["station"].values},
        attrs={**obs.attrs},
    )
    ds["temperature"].attrs["units"] = "degC"
    return ds


def synthetic_meter_data(
    n_series: int = 100,
    *,
    start: str = "2023-01-01",
    days: float = 365,
    freq: str = "15min",
    seed: int = 0,
    pv_fraction: float = 0.2,
    n_feeders: int = 10,
) -> xr.Dataset:
    """15-minute smart-meter load [kW] for ``meter_0001..``, grouped under ``feeder_01..`` -> system.

    A fraction ``pv_fraction`` of the meters are PV generation meters (output >= 0, exactly zero
    at night), the others households (0.2-3 kW with morning and evening peaks). Memory: one
    float64 ``(time, series)`` array plus one temporary of the same size.
    """
    rng = np.random.default_rng(seed)
    time = _time(start, days, freq)
    hour = np.asarray(time.hour + time.minute / 60.0)
    doy = np.asarray(time.dayofyear, dtype=float)
    household = 0.4 + 0.8 * np.exp(-(((hour - 7.5) / 1.5) ** 2)) + 1.4 * np.exp(-(((hour - 19) / 2.5) ** 2))
    daylength = 12 + 4 * np.sin(2 * np.pi * (doy - 80) / 365.25)
    sun = np.clip(np.cos(np.pi * (hour - 12.5) / daylength), 0.0, None) * (
        np.abs(hour - 12.5) < daylength / 2
    )
    is_pv = rng.random(n_series) < pv_fraction
    scale = rng.uniform(0.5, 2.0, size=n_series)
    values = rng.standard_normal((len(time), n_series))
    values *= 0.15
    values += 1.0
    np.multiply(values, np.where(is_pv[None, :], sun[:, None], household[:, None]), out=values)
    values *= scale[None, :]
    np.maximum(values, 0.0, out=values)
    names = [f"meter_{i + 1:04d}" for i in range(n_series)]
    feeders = {name: f"feeder_{i % n_feeders + 1:02d}" for i, name in enumerate(names)}
    ds = make_load_dataset(values, time, names, resolution=freq, parents=feeders)
    ds.attrs["pv_meters"] = [n for n, pv in zip(names, is_pv, strict=True) if pv]
    return ds


def _local_labels(time: pd.DatetimeIndex, tz: str | None, interval: str, step: pd.Timedelta) -> list[str]:
    stamps = time + step if interval == "end" else time
    if tz is not None and tz.upper() != "UTC":
        stamps = stamps.tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return [t.strftime("%Y-%m-%d %H:%M") for t in stamps]


def write_wide_csv(
    ds: xr.Dataset,
    path: str | Path,
    *,
    tz: str | None = None,
    interval: Literal["start", "end"] = "start",
    timestamp_col: str = "timestamp",
    energy: bool = False,
    float_format: str | None = None,
) -> Path:
    """Write a load or weather dataset as a wide CSV a user might bring.

    Parameters
    ----------
    tz:
        Write naive local time of this zone: the spring-forward hour is absent and the fall-back
        hour appears twice, in order (as a meter in local time records them).
    interval:
        Label intervals by their start or their end.
    energy:
        Write load as energy per interval [kWh] instead of mean power [kW].
    """
    var, dim = ("load", "series") if "load" in ds.data_vars else ("temperature", "station")
    time = pd.DatetimeIndex(ds["time"].values)
    step = pd.Timedelta(str(ds.attrs.get("resolution", "1h")))
    values = ds[var].transpose("time", dim).values
    if energy:
        values = values * (step / pd.Timedelta(hours=1))
    frame = pd.DataFrame(values, columns=[str(s) for s in ds[dim].values])
    frame.insert(0, timestamp_col, _local_labels(time, tz, interval, step))
    frame.to_csv(path, index=False, float_format=float_format)
    return Path(path)


def write_long_csv(ds: xr.Dataset, path: str | Path, *, tz: str | None = None) -> Path:
    """Write a load dataset as ``timestamp, series_id, value`` rows (meter-data export layout)."""
    time = pd.DatetimeIndex(ds["time"].values)
    labels = np.asarray(_local_labels(time, tz, "start", pd.Timedelta(str(ds.attrs.get("resolution", "1h")))))
    series = [str(s) for s in ds["series"].values]
    values = ds["load"].transpose("time", "series").values
    frame = pd.DataFrame(
        {
            "timestamp": np.repeat(labels, len(series)),
            "series_id": np.tile(series, len(time)),
            "value": values.ravel(),
        }
    )
    frame.to_csv(path, index=False)
    return Path(path)


def dst_local_csv(
    path: str | Path,
    *,
    tz: str = "Europe/Amsterdam",
    transition: Literal["spring", "fall"] = "fall",
    freq: str = "1h",
    n_series: int = 2,
    year: int = 2024,
    seed: int = 0,
) -> tuple[Path, xr.Dataset]:
    """Write two local days around a DST transition of ``year`` in ``tz``; return the path and the
    UTC dataset the file encodes (what a correct reader must give back)."""
    local = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D", tz=tz)
    offsets = np.asarray(
        (local.tz_localize(None) - local.tz_convert("UTC").tz_localize(None)) / pd.Timedelta(hours=1)
    )
    i = int(np.flatnonzero(np.diff(offsets) > 0 if transition == "spring" else np.diff(offsets) < 0)[0])
    start_utc = local[i].tz_convert("UTC").tz_localize(None)
    ds = synthetic_load(n_series, start=str(start_utc), days=2, freq=freq, seed=seed)
    write_wide_csv(ds, path, tz=tz)
    return Path(path), ds


def corrupt(
    ds: xr.Dataset, *, series: str | int = 0, at: Sequence[int] = (10,), value: float = np.nan
) -> xr.Dataset:
    """Copy of a load dataset with ``value`` written at time positions ``at`` of one series."""
    out = ds.copy(deep=True)
    j = series if isinstance(series, int) else [str(s) for s in ds["series"].values].index(series)
    arr = out["load"].values
    arr[list(at), j] = value
    return out
