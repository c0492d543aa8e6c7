"""Weather of the day-ahead job: observed up to the issue time, forecast after it.

On a real morning the job for D runs at its issue time (``issue_lead_hours`` before local
midnight of D, 10:00 on D-1 by default) and tomorrow's weather is not observed. Given a weather
forecast file (``data.weather_forecast_path`` or ``--weather-forecast``), the forecaster takes
observed temperatures for the intervals ended by the issue time and, for every later interval
of D-1 and D, the newest forecast issued at or before the issue time that covers it
(:func:`gridai.forecast.panel.make_day_inputs`). This module reads that file, checks that it
covers those hours before anything is trained or forecast (:func:`check_forecast_coverage`), and
says in ``run.json`` which source covered which hours (:func:`weather_record`).

The file is NetCDF ``temperature (issue_time, time, station)`` or a wide CSV (timestamp + one
column per station [degC]) with an optional ``issue_time`` column; without it, every row of
local day d is taken as issued ``data.weather_forecast_issue_lead_hours`` (default: the job's
issue lead) before local midnight of d, i.e. at the issue time of d's own run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from gridai.exceptions import GridAIDataError
from gridai.pipelines.dayahead.config import DataSourceConfig, DayAheadConfig
from gridai.pipelines.dayahead.manifest import WeatherRecord

logger = logging.getLogger(__name__)

#: Forecast issues combined per hour, newest first (as :func:`gridai.forecast.panel._forecast_temps`).
ISSUES_COMBINED = 4


#: Issue lead of the job when neither the config nor the model gives one: 10:00 on D-1 [h].
DEFAULT_ISSUE_LEAD_H = 14.0


def job_issue_lead_hours(cfg: DayAheadConfig) -> float:
    """The job's issue lead: ``forecast_issue_lead_hours``, else :data:`DEFAULT_ISSUE_LEAD_H` [h]."""
    lead = cfg.forecast_issue_lead_hours
    return DEFAULT_ISSUE_LEAD_H if lead is None else float(lead)


def job_issue_time(cfg: DayAheadConfig, day: pd.Timestamp) -> pd.Timestamp:
    """Naive-UTC issue time of the job for D: the issue lead before local midnight of D."""
    return day_bounds(cfg.data, day)[0] - pd.Timedelta(hours=job_issue_lead_hours(cfg))


def check_weather_inputs(cfg: DayAheadConfig, day: pd.Timestamp) -> xr.Dataset | None:
    """Read the job's weather forecast file and check it covers D (before any training or forecast).

    Raises
    ------
    GridAIDataError
        The file is missing, malformed, or does not cover the hours from the issue time to the end of D.
    """
    wf = read_job_weather_forecast(cfg.data, job_issue_lead_hours(cfg))
    if wf is not None:
        check_forecast_coverage(wf, cfg.data, day, job_issue_time(cfg, day))
    return wf


def data_timezone(cfg: DataSourceConfig) -> str:
    """Time zone of the job's local days (GEFCom2012 is read as UTC)."""
    return "UTC" if cfg.kind == "gefcom2012" else cfg.timezone


def day_bounds(cfg: DataSourceConfig, day: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Naive-UTC start and (exclusive) end of local day ``day`` (23, 24 or 25 hours)."""
    tz = data_timezone(cfg)

    def utc(d: pd.Timestamp) -> pd.Timestamp:
        local = pd.Timestamp(d.date()).tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
        return pd.Timestamp(local.tz_convert("UTC").tz_localize(None))

    return utc(day), utc(day + pd.Timedelta(days=1))


def read_job_weather_forecast(cfg: DataSourceConfig, issue_lead_hours: float) -> xr.Dataset | None:
    """The weather forecast file of the job, ``None`` when none is configured.

    Raises
    ------
    GridAIDataError
        The file is missing or malformed (the reader's message names it).
    """
    if cfg.weather_forecast_path is None:
        return None
    from gridai.data.options import ReaderOptions
    from gridai.data.readers import read_weather_forecast

    lead = cfg.weather_forecast_issue_lead_hours
    opts = ReaderOptions(
        tz=cfg.timezone, interval=cfg.interval, dayfirst=cfg.dayfirst, date_format=cfg.date_format
    )
    return read_weather_forecast(
        cfg.weather_forecast_path,
        issue_lead_hours=issue_lead_hours if lead is None else lead,
        opts=opts,
        day_tz=data_timezone(cfg),
    )


def _combined(
    wf: xr.Dataset, issue: pd.Timestamp, times: pd.DatetimeIndex, stations: list[str] | None
) -> tuple[np.ndarray, np.ndarray, list[pd.Timestamp]]:
    """Per time: any station forecast (bool), the index of the issue used (-1: none), the issues."""
    known = wf.sel(issue_time=wf["issue_time"] <= np.datetime64(issue.to_datetime64()))
    known = known.isel(issue_time=slice(-ISSUES_COMBINED, None))
    issues = [pd.Timestamp(t) for t in known["issue_time"].values]
    if not issues:
        return np.zeros(len(times), bool), np.full(len(times), -1), []
    temp = known["temperature"].transpose("issue_time", "time", "station")
    if stations is not None:
        temp = temp.sel(station=[s for s in stations if s in temp["station"].values])
    cube = np.asarray(temp.reindex(time=times.values).values, dtype=np.float64)
    has = np.asarray(np.isfinite(cube).any(axis=2), dtype=bool)  # (issue, time)
    which = np.full(len(times), -1)
    for k in range(len(issues)):  # newest last: later issues overwrite older ones
        which = np.where(has[k], k, which)
    return which >= 0, which, issues


def forecast_hours(
    cfg: DataSourceConfig, day: pd.Timestamp, issue: pd.Timestamp, step: pd.Timedelta = pd.Timedelta(hours=1)
) -> pd.DatetimeIndex:
    """Interval starts the forecast must cover: from the issue time to the end of D (naive UTC)."""
    start, end = day_bounds(cfg, day)
    first = max(issue.floor(step), start - pd.Timedelta(days=1))
    return pd.date_range(first, end, freq=step, inclusive="left")


def check_forecast_coverage(
    wf: xr.Dataset, cfg: DataSourceConfig, day: pd.Timestamp, issue: pd.Timestamp
) -> None:
    """Fail fast when the forecast file cannot give D's weather at the issue time.

    Raises
    ------
    GridAIDataError
        No forecast was issued at or before ``issue``, or some hour from the issue time to the
        end of D has no station forecast in the issues known then; names the file and the hours.
    """
    path = str(wf.attrs.get("source_file", cfg.weather_forecast_path))
    times = forecast_hours(cfg, day, issue)
    ok, _, issues = _combined(wf, issue, times, None)
    if not issues:
        all_issues = pd.DatetimeIndex(wf["issue_time"].values)
        span = f"{all_issues.min()} .. {all_issues.max()}" if len(all_issues) else "none"
        raise GridAIDataError(
            f"weather forecast {path} has no forecast issued at or before the issue time {issue} (UTC) "
            f"of {day.date()} (its issues: {span}; rule: {wf.attrs.get('issue_rule', '?')})",
            file=path,
            timestamps=[str(issue)],
        )
    missing = times[~ok]
    if len(missing):
        raise GridAIDataError(
            f"weather forecast {path} does not cover {len(missing)} hour(s) from the issue time {issue} to the "
            f"end of {day.date()} (UTC): {_span(missing)}; forecasts issued at or before {issue} must cover "
            "every hour not observed by then",
            file=path,
            timestamps=[str(t) for t in missing[:48]],
        )


def _span(times: pd.DatetimeIndex) -> str:
    shown = ", ".join(t.strftime("%Y-%m-%d %H:%M") for t in times[:6])
    return shown + (f", ... {times[-1]:%Y-%m-%d %H:%M}" if len(times) > 6 else "")


def weather_record(
    weather: xr.Dataset,
    wf: xr.Dataset | None,
    cfg: DataSourceConfig,
    day: pd.Timestamp,
    issue: pd.Timestamp,
    files: dict[str, str],
) -> WeatherRecord:
    """``run.json`` ``weather``: which source covered which hours of D-1 and D.

    ``files`` maps each weather file read to its SHA-256.
    """
    start, end = day_bounds(cfg, day)
    wt = pd.DatetimeIndex(weather["time"].values)
    finite = np.isfinite(weather["temperature"].values).any(axis=1)
    before = finite & (wt < issue)
    rec: WeatherRecord = {
        "source": "observed" if wf is None else "observed+forecast",
        "issue_time": str(issue),
        "day": [str(start), str(end)],
        "observed_last": str(wt[before][-1]) if before.any() else None,
        "files": files,
    }
    if wf is None:
        return rec
    times = forecast_hours(cfg, day, issue)
    ok, which, issues = _combined(wf, issue, times, None)
    rec["observed_until"] = str(times[0]) if len(times) else str(issue)
    rec["forecast_file"] = str(wf.attrs.get("source_file", cfg.weather_forecast_path))
    rec["forecast_rule"] = str(wf.attrs.get("issue_rule", ""))
    rec["forecast_issue_time"] = str(issues[-1]) if issues else None
    rec["forecast_hours"] = [str(t) for t in times[ok]]
    rec["forecast_hours_by_issue"] = {
        str(issues[k]): int((which == k).sum()) for k in range(len(issues)) if (which == k).any()
    }
    return rec


def weather_files(cfg: DataSourceConfig) -> list[Path]:
    """The weather forecast file of the job (empty when none)."""
    return [] if cfg.weather_forecast_path is None else [Path(cfg.weather_forecast_path)]
