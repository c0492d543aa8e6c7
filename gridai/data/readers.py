"""Generic readers: wide CSV, long CSV/Parquet and wide weather-forecast CSV.

This is how users bring their own meter and weather data without writing code. Every reader
returns a canonical dataset (:mod:`gridai.data.schema`) or raises
:class:`~gridai.exceptions.GridAIDataError` with a message naming the file, the column and the
rows concerned. What cannot be represented in the canonical form is rejected here (text in a
numeric column, non-finite values, duplicated or decreasing timestamps, DST-nonexistent local
times); what can be represented but looks wrong (gaps, flatliners, outliers, ...) is left to
:mod:`gridai.data.validation`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from gridai.data.csvtable import (
    SHOW,
    check_last_row,
    parse_numeric,
    read_csv_text,
    read_header,
    read_wide_frame,
)
from gridai.data.io import resolve_input_file
from gridai.data.options import ReaderOptions
from gridai.data.resample import resample
from gridai.data.schema import make_load_dataset, make_weather_dataset
from gridai.data.timeindex import check_order, parse_timestamps, step_of, to_interval_start
from gridai.exceptions import GridAIDataError

logger = logging.getLogger(__name__)

# Input units -> (canonical units, factor to them, whether the input is energy per interval).
LOAD_UNIT_CONVERSIONS: dict[str, tuple[str, float, bool]] = {
    "W": ("kW", 1e-3, False),
    "kW": ("kW", 1.0, False),
    "MW": ("MW", 1.0, False),
    "Wh": ("kW", 1e-3, True),
    "kWh": ("kW", 1.0, True),
    "MWh": ("MW", 1.0, True),
}


def _convert_load_units(values: np.ndarray, units: str, step: pd.Timedelta) -> tuple[np.ndarray, str]:
    if units not in LOAD_UNIT_CONVERSIONS:
        raise GridAIDataError(f"unknown load units {units!r}; use one of {sorted(LOAD_UNIT_CONVERSIONS)}")
    canonical, factor, is_energy = LOAD_UNIT_CONVERSIONS[units]
    if is_energy:  # energy per interval -> mean power over the interval
        factor /= step / pd.Timedelta(hours=1)
    return values * factor if factor != 1.0 else values, canonical


def _to_celsius(values: np.ndarray, temperature_units: str) -> np.ndarray:
    if temperature_units == "degC":
        return values
    if temperature_units == "degF":
        return (values - 32.0) * (5.0 / 9.0)
    raise GridAIDataError(f"temperature_units must be 'degC' or 'degF', got {temperature_units!r}")


def _time_options(opts: ReaderOptions, *, points: bool = False) -> dict[str, Any]:
    """The timestamp-parsing fields of ``opts`` as keywords of :func:`parse_timestamps`
    (``points``: the column holds points in time, such as issue times, not interval labels)."""
    return {
        "tz": opts.tz,
        "interval": None if points else opts.interval,
        "dayfirst": opts.dayfirst,
        "date_format": opts.date_format,
    }


def _build(
    values: np.ndarray,
    utc: pd.DatetimeIndex,
    names: list[str],
    *,
    kind: str,
    opts: ReaderOptions,
    source_file: str,
    dst_repeats: int,
) -> xr.Dataset:
    resolution = opts.resolution
    native = step_of(utc, None) if len(utc) > 1 else step_of(utc, resolution)
    start = to_interval_start(utc, opts.interval, native)
    native_res = _alias(native)
    ds: xr.Dataset
    if kind == "load":
        converted, canonical = _convert_load_units(values, opts.units, native)
        ds = make_load_dataset(
            converted,
            start,
            names,
            units=canonical,
            source_tz=opts.tz,
            source_interval=opts.interval,
            resolution=native_res,
        )
    elif kind == "weather":
        ds = make_weather_dataset(
            _to_celsius(values, opts.temperature_units),
            start,
            names,
            source_tz=opts.tz,
            source_interval=opts.interval,
            resolution=native_res,
        )
    else:
        raise GridAIDataError(f"kind must be 'load' or 'weather', got {kind!r}")
    ds.attrs["source_file"] = source_file
    ds.attrs["dst_repeats_resolved"] = dst_repeats
    if resolution is not None and pd.Timedelta(step_of(utc, resolution)) != native:
        ds = resample(ds, resolution)
    return ds


def _alias(step: pd.Timedelta) -> str:
    minutes = int(step / pd.Timedelta(minutes=1))
    if minutes > 0 and minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}min"


def read_wide_csv(
    path: str | Path,
    *,
    kind: Literal["load", "weather"] = "load",
    timestamp_col: str | None = None,
    opts: ReaderOptions | None = None,
    sep: str = ",",
    thousands: str | None = None,
) -> xr.Dataset:
    """Read a wide CSV: one timestamp column plus one column per series (load) or station (weather).

    Parameters
    ----------
    path:
        CSV file (``.csv`` or ``.csv.gz``).
    kind:
        ``"load"`` -> variable ``load`` ``(time, series)``; ``"weather"`` -> ``temperature``
        ``(time, station)`` [degC].
    timestamp_col:
        Name of the timestamp column; default: the first column named
        timestamp/time/datetime/date, else the first column.
    opts:
        How to interpret the file (:class:`~gridai.data.options.ReaderOptions`: time zone of
        naive timestamps, interval start or end, load or temperature units, target resolution);
        default ``ReaderOptions()``: UTC, interval start, kW, degC, the file's most common step.
    sep, thousands:
        Field separator and thousands separator (e.g. ``","`` for ``"16,853"``).

    Raises
    ------
    GridAIDataError
        Missing/empty/directory path, header only, missing or unparseable timestamp column, mixed
        time zones, duplicated or decreasing timestamps, nonexistent local times, text or
        non-finite values in numeric columns. The message names file, column and rows.
    """
    opts = opts or ReaderOptions()
    p = resolve_input_file(path, what="CSV file")
    frame, ts = read_wide_frame(p, timestamp_col, sep, thousands)
    parsed = parse_timestamps(frame[ts], file=str(p), column=ts, **_time_options(opts))
    check_order(parsed.utc, file=str(p), column=ts, tz=opts.tz, raw=frame[ts])
    names = [c for c in frame.columns if c != ts]
    values = parse_numeric(frame, names, file=str(p), thousands=thousands)
    ds = _build(
        values, parsed.utc, names, kind=kind, opts=opts, source_file=str(p), dst_repeats=parsed.dst_repeats
    )
    logger.info(
        "read %s: %d timestamps x %d %s",
        p,
        len(frame),
        len(names),
        "series" if kind == "load" else "stations",
    )
    return ds


def _read_table(p: Path, text_columns: list[str]) -> pd.DataFrame:
    name = p.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        from gridai.data.io import read_parquet

        return read_parquet(p)
    try:
        return read_csv_text(p, sep=",", text_columns=text_columns, thousands=None)
    except pd.errors.EmptyDataError:
        raise GridAIDataError(f"{p} is empty: expected a header line", file=str(p)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise GridAIDataError(f"{p} is not a well-formed CSV file: {err}", file=str(p)) from None


def read_long(
    path: str | Path,
    *,
    kind: Literal["load", "weather"] = "load",
    timestamp_col: str = "timestamp",
    series_col: str = "series_id",
    value_col: str = "value",
    opts: ReaderOptions | None = None,
    thousands: str | None = None,
) -> xr.Dataset:
    """Read a long table ``timestamp, series_id, value`` (CSV or Parquet), the usual meter-data export.

    Rows may come in any order; each series' timestamps are parsed in file order, so a local
    fall-back repeat is resolved per series (first occurrence DST, second standard time). The
    union of all timestamps becomes the time axis; a series without a row at a time gets NaN.
    Other parameters as :func:`read_wide_csv`.

    Raises
    ------
    GridAIDataError
        As :func:`read_wide_csv`, plus missing columns and a (timestamp, series) pair given twice.
    """
    opts = opts or ReaderOptions()
    p = resolve_input_file(path, what="input file")
    table = _read_table(p, [timestamp_col, series_col])
    if table.empty:
        raise GridAIDataError(f"{p} has a header but no data rows", file=str(p))
    if not p.name.lower().endswith((".parquet", ".pq")):
        check_last_row(
            p,
            table,
            header=read_header(p),
            thousands=thousands,
            text_columns=[timestamp_col, series_col],
            group_column=series_col,
        )
    missing = [c for c in (timestamp_col, series_col, value_col) if c not in table.columns]
    if missing:
        raise GridAIDataError(
            f"missing columns {missing} in {p}; a long table needs {timestamp_col!r}, {series_col!r}, "
            f"{value_col!r} (found {list(table.columns)[:10]})",
            file=str(p),
        )
    sid = table[series_col].astype("string").str.strip()
    if sid.isna().any() or (sid == "").any():
        rows = np.flatnonzero(np.asarray(sid.isna() | (sid == "")))[:SHOW] + 2
        raise GridAIDataError(f"empty {series_col!r} in {p} at rows {rows.tolist()}", file=str(p))
    raw_ts = table[timestamp_col]
    occurrence = np.asarray(table.groupby([sid, raw_ts.astype("string")], sort=False).cumcount())
    parsed = parse_timestamps(
        raw_ts, file=str(p), column=timestamp_col, occurrence=occurrence, **_time_options(opts)
    )
    if table[value_col].dtype.kind in "iuf":
        values = table[value_col].to_numpy(dtype="float64")
        if np.isinf(values).any():
            raise GridAIDataError(f"non-finite values in column {value_col!r} of {p}", file=str(p))
    else:
        values = parse_numeric(table, [value_col], file=str(p), thousands=thousands)[:, 0]
    key = pd.DataFrame({"time": parsed.utc, "series": sid.to_numpy(dtype=object)})
    dup = np.asarray(key.duplicated(keep="first"))
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise GridAIDataError(
            f"duplicated rows in {p}: series {key['series'].iloc[i]!r} has {int(dup.sum())} repeated "
            f"timestamps, e.g. {key['time'].iloc[i]} (row {i + 2})",
            file=str(p),
            series=str(key["series"].iloc[i]),
            timestamps=[str(t) for t in key["time"][dup][:SHOW]],
        )
    wide = pd.Series(values, index=pd.MultiIndex.from_frame(key)).unstack("series")
    names = [str(s) for s in wide.columns]
    utc = pd.DatetimeIndex(wide.index)
    ds = _build(
        wide.to_numpy(dtype="float64"),
        utc,
        names,
        kind=kind,
        opts=opts,
        source_file=str(p),
        dst_repeats=parsed.dst_repeats,
    )
    logger.info("read %s: %d rows, %d series", p, len(table), len(names))
    return ds


def read_weather_forecast_wide(
    path: str | Path,
    *,
    issue_lead_hours: float = 24.0,
    issue_time_col: str = "issue_time",
    timestamp_col: str | None = None,
    opts: ReaderOptions | None = None,
    max_cells: int = 200_000_000,
    day_tz: str | None = None,
) -> xr.Dataset:
    """Read day-ahead weather forecasts kept as a wide CSV (same columns as the weather CSV).

    Each row is the forecast for its timestamp. Without an ``issue_time`` column, the forecasts
    of one (UTC) target day are taken as issued ``issue_lead_hours`` before that day's 00:00 UTC
    (default 24 h: at 00:00 UTC of the previous day); with ``day_tz`` (the day-ahead job), the
    target day is the local day in that zone and the issue ``issue_lead_hours`` before its local
    midnight. With the column, its values are used
    (same time-zone rules as the timestamps). ``opts``: as :func:`read_wide_csv` (``tz``,
    ``interval``, ``temperature_units``; the file's own step is kept).

    Returns
    -------
    xr.Dataset
        ``temperature`` ``(issue_time, time, station)`` [degC], NaN where an issue does not cover
        a time; use :func:`gridai.data.schema.weather_known_at` to get what was known at a time.
        The array is dense: ``issues x times x stations`` cells (limited by ``max_cells``).

    Raises
    ------
    GridAIDataError
        As :func:`read_wide_csv`; an issue time after the time it forecasts; too many cells.
    """
    opts = opts or ReaderOptions()
    tz, interval = opts.tz, opts.interval
    p = resolve_input_file(path, what="CSV file")
    frame, ts = read_wide_frame(p, timestamp_col, ",", None)
    has_issue = issue_time_col in frame.columns and issue_time_col != ts
    parsed = parse_timestamps(frame[ts], file=str(p), column=ts, **_time_options(opts))
    names = [c for c in frame.columns if c not in (ts, issue_time_col)]
    values = _to_celsius(parse_numeric(frame, names, file=str(p), thousands=None), opts.temperature_units)
    step = step_of(parsed.utc, None) if len(frame) > 1 else pd.Timedelta(hours=1)
    target = to_interval_start(parsed.utc, interval, step)
    if has_issue:
        issue = parse_timestamps(
            frame[issue_time_col], file=str(p), column=issue_time_col, **_time_options(opts, points=True)
        ).utc
    elif day_tz is not None:
        local_day = target.tz_localize("UTC").tz_convert(day_tz).tz_localize(None).floor("D")
        midnight = local_day.tz_localize(day_tz, ambiguous=False, nonexistent="shift_forward")
        issue = midnight.tz_convert("UTC").tz_localize(None) - pd.Timedelta(hours=issue_lead_hours)
    else:
        issue = target.floor("D") - pd.Timedelta(hours=issue_lead_hours)
    late = np.asarray(issue > target)
    if late.any():
        i = int(np.flatnonzero(late)[0])
        raise GridAIDataError(
            f"forecast issued after the time it forecasts in {p}: row {i + 2} (issue {issue[i]}, time {target[i]})",
            file=str(p),
            timestamps=[str(target[i])],
        )
    key = pd.DataFrame({"issue_time": issue, "time": target})
    dup = np.asarray(key.duplicated())
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise GridAIDataError(
            f"duplicated (issue_time, time) rows in {p}, e.g. row {i + 2} ({issue[i]}, {target[i]})",
            file=str(p),
            timestamps=[str(target[i])],
        )
    issues = pd.DatetimeIndex(np.unique(issue.values))
    times = pd.DatetimeIndex(np.unique(target.values))
    cells = len(issues) * len(times) * len(names)
    if cells > max_cells:
        raise GridAIDataError(
            f"{p} would need {cells:,} cells ({len(issues)} issues x {len(times)} times x {len(names)} "
            f"stations) > max_cells={max_cells:,}; split the file by period",
            file=str(p),
        )
    cube = np.full((len(issues), len(times), len(names)), np.nan)
    cube[issues.get_indexer(issue), times.get_indexer(target), :] = values
    ds = xr.Dataset(
        {"temperature": (("issue_time", "time", "station"), cube)},
        coords={
            "issue_time": issues.values.astype("datetime64[ns]"),
            "time": times.values.astype("datetime64[ns]"),
            "station": np.array(names, dtype=object),
        },
        attrs={
            "source_tz": tz,
            "interval": "start",
            "source_interval": interval,
            "resolution": _alias(step),
            "source_file": str(p),
            "issue_rule": (
                f"column {issue_time_col!r}"
                if has_issue
                else f"{issue_lead_hours:g} h before 00:00 {day_tz or 'UTC'} of the target day"
            ),
        },
    )
    ds["temperature"].attrs["units"] = "degC"
    return ds


def read_weather_forecast(
    path: str | Path,
    *,
    issue_lead_hours: float = 24.0,
    opts: ReaderOptions | None = None,
    day_tz: str | None = None,
) -> xr.Dataset:
    """Weather forecasts ``(issue_time, time, station)`` [degC] from NetCDF or a wide CSV.

    ``.nc``: a ``temperature`` variable with dimensions ``(issue_time, time, station)`` (naive
    UTC times). Anything else: :func:`read_weather_forecast_wide` (its issue-time rule).

    Raises
    ------
    GridAIDataError
        The file is missing or malformed, or a NetCDF file lacks the variable or dimensions.
    """
    p = resolve_input_file(path, what="weather forecast file")
    if not p.name.lower().endswith(".nc"):
        return read_weather_forecast_wide(p, issue_lead_hours=issue_lead_hours, opts=opts, day_tz=day_tz)
    from gridai.data.io import read_netcdf

    ds = read_netcdf(p)
    dims = ("issue_time", "time", "station")
    if "temperature" not in ds.data_vars or set(ds["temperature"].dims) != set(dims):
        raise GridAIDataError(
            f"{p}: a weather forecast NetCDF needs a 'temperature' variable with dimensions {dims} [degC]; "
            f"it has {dict((k, v.dims) for k, v in ds.data_vars.items())}",
            file=str(p),
        )
    out = ds[["temperature"]].transpose(*dims)
    out.attrs.update({"source_file": str(p), "issue_rule": "NetCDF issue_time coordinate"})
    return out
