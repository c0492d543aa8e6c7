"""Reader of the bundled GEFCom2012 load-track data (``data/gefcom2012``).

Source: T. Hong, P. Pinson, S. Fan, "Global Energy Forecasting Competition 2012",
International Journal of Forecasting 30(2), 2014, 357-363 (data in the paper's appendix).

File layout: one row per (zone or station, day), columns ``h1..h24`` where ``hN`` is the hour
**ending** at N:00. gridai labels intervals by their start, so ``h1`` of a day becomes 00:00 of
that day (``source_interval="end"``). The competition ignored daylight saving time; its clock is
treated as UTC (``source_tz="UTC"``), so every day has exactly 24 hours.

Each file is read as ``NAME.csv`` or, as bundled, gzip-compressed ``NAME.csv.gz``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

import gridai
from gridai.data.schema import make_load_dataset, make_weather_dataset
from gridai.exceptions import GridAIDataError

logger = logging.getLogger(__name__)

HOURS = [f"h{i}" for i in range(1, 25)]
N_ZONES = 20
N_STATIONS = 11
SOURCE = "GEFCom2012 load track (Hong, Pinson, Fan 2014, doi:10.1016/j.ijforecast.2013.07.001)"


def default_directory() -> Path:
    """The project's bundled copy: ``<repository>/data/gefcom2012``."""
    return Path(gridai.__file__).resolve().parents[1] / "data" / "gefcom2012"


def _find(directory: str | Path | None, name: str) -> Path:
    folder = Path(directory) if directory is not None else default_directory()
    if not folder.exists():
        raise GridAIDataError(f"GEFCom2012 folder {folder} does not exist", file=str(folder))
    if not folder.is_dir():
        raise GridAIDataError(f"GEFCom2012 path {folder} is not a folder", file=str(folder))
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise GridAIDataError(
        f"GEFCom2012 file {name} (or {name}.gz) not found in {folder}", file=str(folder / name)
    )


def _read_table(path: Path, required: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, thousands=",")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as err:
        raise GridAIDataError(f"cannot read GEFCom2012 file {path}: {err}", file=str(path)) from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise GridAIDataError(f"GEFCom2012 file {path} lacks columns {missing}", file=str(path))
    for col in required:
        if frame[col].dtype.kind not in "iuf":
            bad = pd.to_numeric(frame[col], errors="coerce").isna() & frame[col].notna()
            row = int(np.flatnonzero(np.asarray(bad))[0]) + 2 if bad.any() else -1
            raise GridAIDataError(
                f"non-numeric values in column {col!r} of {path} (first at row {row})", file=str(path)
            )
    return frame


def _dates(frame: pd.DataFrame, path: Path) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(frame[["year", "month", "day"]]))
    except (ValueError, TypeError) as err:
        raise GridAIDataError(f"invalid dates in {path}: {err}", file=str(path)) from None


def _daily_to_hourly(
    frame: pd.DataFrame, id_col: str, n_ids: int, path: Path, days: pd.DatetimeIndex | None = None
) -> tuple[np.ndarray, pd.DatetimeIndex]:
    """Scatter rows ``(id, day, h1..h24)`` into an hourly ``(time, id)`` array (vectorised)."""
    dates = _dates(frame, path)
    ids = frame[id_col].to_numpy()
    if ((ids < 1) | (ids > n_ids)).any():
        raise GridAIDataError(f"{id_col} outside 1..{n_ids} in {path}", file=str(path))
    key = pd.DataFrame({"id": ids, "date": dates})
    if key.duplicated().any():
        first = key[key.duplicated()].iloc[0]
        raise GridAIDataError(
            f"duplicated rows in {path}: {id_col} {first['id']} on {first['date'].date()}", file=str(path)
        )
    if days is None:
        days = pd.date_range(dates.min(), dates.max(), freq="D")
    day_idx = days.get_indexer(dates)
    keep = day_idx >= 0
    cube = np.full((len(days), 24, n_ids), np.nan)
    cube[day_idx[keep], :, ids[keep] - 1] = frame.loc[keep, HOURS].to_numpy(dtype="float64")
    # hour-ending h1..h24 -> interval start 00:00..23:00 of the same day
    time = pd.DatetimeIndex((days.values[:, None] + np.arange(24) * np.timedelta64(1, "h")).ravel())
    return cube.reshape(len(days) * 24, n_ids), time


def _last_valid(values: np.ndarray, time: pd.DatetimeIndex) -> pd.Timestamp:
    """The last hour at which the history has any value."""
    has = ~np.isnan(values).all(axis=1)
    return pd.Timestamp(time[np.flatnonzero(has)[-1]])


def _spans(mask: np.ndarray, time: pd.DatetimeIndex) -> list[str]:
    """ISO ``start/end`` spans (interval starts, inclusive) of runs of True in ``mask``."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [
        f"{pd.Timestamp(time[int(s)]).isoformat()}/{pd.Timestamp(time[int(e)]).isoformat()}"
        for s, e in zip(starts, ends, strict=True)
    ]


def read_gefcom_load(
    directory: str | Path | None = None,
    *,
    include_solution: bool = True,
    include_forecast_week: bool = False,
) -> xr.Dataset:
    """Read the GEFCom2012 zonal load as a canonical load dataset.

    Parameters
    ----------
    directory:
        Folder with ``Load_history.csv[.gz]`` (and ``Load_solution.csv[.gz]``); default: the bundled
        ``data/gefcom2012``.
    include_solution:
        Fill the blank backcast weeks (and, if included, the forecast week) with the actual load
        from ``Load_solution`` so the history has no gap. With ``False`` the blank weeks stay
        NaN, as the competitors saw them.
    include_forecast_week:
        Also return 2008-06-30 06:00 .. 2008-07-07 23:00: NaN for the rest of 2008-06-30 (no file
        holds it), 2008-07-01..07 from ``Load_solution`` (NaN unless ``include_solution``).

    Returns
    -------
    xr.Dataset
        ``load`` ``(time, series)`` [kW] for ``zone_1..zone_20``, parent ``system``, hourly,
        naive UTC interval starts from 2004-01-01 00:00 to the last hour of the history,
        2008-06-30 05:00 (``Load_history`` stops after ``h6`` of 2008-06-30). Attrs: ``source``,
        ``source_file``, ``backcast_weeks`` (ISO spans blank in the history),
        ``filled_from_solution`` (bool).
    """
    hist_path = _find(directory, "Load_history.csv")
    hist = _read_table(hist_path, ["zone_id", "year", "month", "day", *HOURS])
    values, time = _daily_to_hourly(hist, "zone_id", N_ZONES, hist_path)
    blank = np.isnan(values).all(axis=1)
    end = _last_valid(values, time)
    if include_solution:
        sol_path = _find(directory, "Load_solution.csv")
        sol = _read_table(sol_path, ["zone_id", "year", "month", "day", *HOURS])
        sol = sol[sol["zone_id"] <= N_ZONES]  # zone 21 is the system total, derived here
        days = pd.DatetimeIndex(time[::24])
        filled, _ = _daily_to_hourly(sol, "zone_id", N_ZONES, sol_path, days=days)
        values = np.where(np.isnan(values), filled, values)
    if not include_forecast_week:
        keep = time <= end
        values, time, blank = values[keep], time[keep], blank[keep]
    series = [f"zone_{i}" for i in range(1, N_ZONES + 1)]
    ds = make_load_dataset(
        values, time, series, units="kW", source_tz="UTC", source_interval="end", resolution="1h"
    )
    ds.attrs.update(
        source=SOURCE,
        source_file=str(hist_path),
        backcast_weeks=_spans(blank & (time <= end), time),
        filled_from_solution=include_solution,
    )
    logger.info(
        "read GEFCom2012 load: %d hours x %d zones (solution %s)",
        len(time),
        N_ZONES,
        "filled in" if include_solution else "left out",
    )
    return ds


def read_gefcom_temperature(
    directory: str | Path | None = None,
    *,
    include_solution: bool = True,
    include_forecast_week: bool = False,
) -> xr.Dataset:
    """Read the GEFCom2012 station temperatures as a canonical weather dataset [degC].

    ``temperature_history`` ends at hour 6 of 2008-06-30; with ``include_solution`` the rest of that
    day comes from ``temperature_solution`` (its ``hour`` is hour-ending, as ``hN``), so the
    history is complete through 2008-06-30 23:00. ``include_forecast_week`` adds 2008-07-01..07.
    Temperatures are converted from degF: ``T_C = (T_F - 32) * 5 / 9``.
    """
    hist_path = _find(directory, "temperature_history.csv")
    hist = _read_table(hist_path, ["station_id", "year", "month", "day", *HOURS])
    last_day = _dates(hist, hist_path).max()
    n_days_extra = 7 if include_forecast_week else 0
    days = pd.date_range(_dates(hist, hist_path).min(), last_day + pd.Timedelta(days=n_days_extra), freq="D")
    values, time = _daily_to_hourly(hist, "station_id", N_STATIONS, hist_path, days=days)
    if include_solution:
        sol_path = _find(directory, "temperature_solution.csv")
        sol = _read_table(sol_path, ["station_id", "year", "month", "day", "hour", "T0_p1"])
        start = pd.DatetimeIndex(pd.to_datetime(sol[["year", "month", "day"]])) + pd.to_timedelta(
            sol["hour"].to_numpy() - 1, unit="h"
        )
        rows = time.get_indexer(start)
        ok = rows >= 0
        cols = sol["station_id"].to_numpy()[ok] - 1
        fill = np.full_like(values, np.nan)
        fill[rows[ok], cols] = sol["T0_p1"].to_numpy(dtype="float64")[ok]
        values = np.where(np.isnan(values), fill, values)
    stations = [f"station_{i}" for i in range(1, N_STATIONS + 1)]
    ds = make_weather_dataset(
        (values - 32.0) * (5.0 / 9.0), time, stations, source_tz="UTC", source_interval="end", resolution="1h"
    )
    ds.attrs.update(source=SOURCE, source_file=str(hist_path), filled_from_solution=include_solution)
    return ds


def read_gefcom_holidays(directory: str | Path | None = None) -> list[dt.date]:
    """US holidays 2004-2008 from ``Holiday_List.csv`` (observed dates, sorted).

    Cells read ``"Thursday, January 1"`` (year from the column) or, where the observed day falls
    in another year, ``"Friday, December 31, 2004"``. The weekday is checked against the date.
    """
    path = _find(directory, "Holiday_List.csv")
    try:
        frame = pd.read_csv(path, index_col=0, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as err:
        raise GridAIDataError(f"cannot read {path}: {err}", file=str(path)) from None
    out: list[dt.date] = []
    for year_col in frame.columns:
        for name, cell in frame[year_col].dropna().items():
            text = str(cell).strip()
            full = text if text.count(",") >= 2 else f"{text}, {year_col.strip()}"
            try:
                day = dt.datetime.strptime(full, "%A, %B %d, %Y").date()
            except ValueError:
                day = None
            if day is None or day.strftime("%A") != full.split(",")[0].strip():
                raise GridAIDataError(
                    f"cannot read holiday {name!r} {year_col}: {text!r} (expected 'Weekday, Month D' "
                    "with the weekday matching the date)",
                    file=str(path),
                )
            out.append(day)
    return sorted(set(out))
