"""Steps 1 and 2 of the day-ahead job: load and gate the data, then forecast day D.

Step 1 reads load and weather (GEFCom2012 or wide CSVs), keeps ``history_days`` before D
(plus D itself, used only for the report's "actual on D" line: the forecaster's issue-time
protocol never lets it see load after the issue time), records each input file's SHA-256, and
runs the data layer's quality checks. Step 2 loads the champion and forecasts D; when the
champion is missing, corrupt or unloadable, or it cannot forecast from these inputs (failed
gates, missing weather, an all-NaN series), the baseline is fitted on the history and used
instead, marked ``substituted``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.exceptions import Finding, GridAIDataError, GridAIError
from gridai.outputs import sha256_file
from gridai.pipelines.dayahead.config import DataSourceConfig, DayAheadConfig
from gridai.pipelines.dayahead.manifest import FallbackKind, FileDigest, ModelRecord, RunManifest
from gridai.pipelines.dayahead.weather import DEFAULT_ISSUE_LEAD_H, job_issue_lead_hours, job_issue_time

logger = logging.getLogger(__name__)


@dataclass
class Inputs:
    """Data of the run: history window (and D), findings, digests."""

    load: xr.Dataset
    weather: xr.Dataset
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, FileDigest] = field(default_factory=dict)
    gate_failed: list[str] = field(default_factory=list)
    """Reasons the forecast inputs failed the gates (empty = passed)."""
    nan_series: list[str] = field(default_factory=list)
    """Series with no value at all in the history window."""
    weather_forecast: xr.Dataset | None = None
    """Weather forecasts ``(issue_time, time, station)`` (``data.weather_forecast_path``), checked to
    cover D at the issue time; ``None``: observed weather only."""


def _digest(paths: list[Path]) -> dict[str, FileDigest]:
    out: dict[str, FileDigest] = {}
    for p in paths:
        if p.is_file():
            out[str(p)] = {"sha256": sha256_file(p), "bytes": p.stat().st_size}
    return out


def read_inputs(cfg: DataSourceConfig) -> tuple[xr.Dataset, xr.Dataset, list[Path]]:
    """Read load [kW] and weather [degC] as canonical datasets; return them with the files read."""
    if cfg.kind == "gefcom2012":
        from gridai.data.gefcom import read_gefcom_load, read_gefcom_temperature

        d = Path(cfg.load_path)
        if not d.is_dir():
            raise GridAIDataError(f"GEFCom2012 directory {d} does not exist", file=str(d))
        load = read_gefcom_load(d)
        weather = read_gefcom_temperature(d)
        files = sorted(
            p for p in d.iterdir() if p.name.startswith(("Load_history", "Load_solution", "temperature_"))
        )
        return load, weather, files
    from gridai.data.options import ReaderOptions
    from gridai.data.readers import read_wide_csv

    if cfg.weather_path is None:
        raise GridAIDataError("data.weather_path is required for kind 'wide_csv'")
    opts = ReaderOptions(
        tz=cfg.timezone, interval=cfg.interval, dayfirst=cfg.dayfirst, date_format=cfg.date_format
    )
    load = read_wide_csv(cfg.load_path, kind="load", opts=opts)
    weather = read_wide_csv(cfg.weather_path, kind="weather", opts=opts)
    return load, weather, [Path(cfg.load_path), Path(cfg.weather_path)]


def window(ds: xr.Dataset, day: pd.Timestamp, history_days: int) -> xr.Dataset:
    """Rows from ``history_days`` before ``day`` to the end of ``day`` (naive UTC)."""
    start = day - pd.Timedelta(days=history_days)
    end = day + pd.Timedelta(days=1)
    t = pd.DatetimeIndex(ds["time"].values)
    return ds.isel(time=np.flatnonzero((t >= start) & (t < end)))


def load_and_check(cfg: DayAheadConfig, day: pd.Timestamp, manifest: RunManifest) -> Inputs:
    """Step 1: read, window, digest and quality-check the inputs.

    Raises
    ------
    GridAIDataError
        Files missing or malformed, or day D (and the history before it) not in the data.
    """
    from gridai.pipelines.dayahead import weather as wx

    wf = wx.check_weather_inputs(cfg, day)  # fail fast, before the (larger) load and weather files
    load_all, weather_all, files = read_inputs(cfg.data)
    files += wx.weather_files(cfg.data)
    load = window(load_all, day, cfg.data.history_days)
    weather = window(weather_all, day, cfg.data.history_days)
    t = pd.DatetimeIndex(load["time"].values)
    if len(t) == 0 or t[0] > day - pd.Timedelta(days=7):
        raise GridAIDataError(
            f"day {day.date()} needs at least 7 days of load history before it; the load data cover "
            f"{pd.Timestamp(load_all['time'].values[0])} .. {pd.Timestamp(load_all['time'].values[-1])}",
            timestamps=[str(day.date())],
        )
    inputs = Inputs(load=load, weather=weather, files=_digest(files), weather_forecast=wf)
    weather_digests = {
        k: v["sha256"]
        for k, v in inputs.files.items()
        if Path(k) != Path(cfg.data.load_path) and not Path(k).name.startswith("Load_")
    }
    manifest.weather = wx.weather_record(
        weather, wf, cfg.data, day, wx.job_issue_time(cfg, day), weather_digests
    )
    history = load.sel(time=load["time"] < np.datetime64(day))
    values = history["load"].values
    inputs.nan_series = [
        str(s) for s, ok in zip(load["series"].values, np.isfinite(values).any(axis=0), strict=True) if not ok
    ]
    for s in inputs.nan_series:
        inputs.gate_failed.append(
            f"series {s} has no value in the {cfg.data.history_days} days before {day.date()}"
        )
    inputs.findings = _quality_findings(history, weather, cfg.data, manifest)
    _recent_faults(cfg, day, history, weather, inputs, manifest)
    errors = [f for f in inputs.findings if f.severity == "error"]
    if cfg.data.strict and errors:
        inputs.gate_failed.extend(f"{f.kind} on {f.series or 'dataset'}: {f.message}" for f in errors[:5])
    day_weather = weather.sel(time=(weather["time"] >= np.datetime64(day)))
    incomplete = (
        day_weather.sizes["time"] == 0 or not np.isfinite(day_weather["temperature"].values).any(axis=1).all()
    )
    if wf is None and incomplete:  # with a forecast file, D's weather comes from it (checked above)
        manifest.warn(f"weather for {day.date()} is missing or incomplete")
    return inputs


def _recent_faults(
    cfg: DayAheadConfig, day: pd.Timestamp, history: xr.Dataset, weather: xr.Dataset, inputs: Inputs,
    manifest: RunManifest,
) -> None:  # fmt: skip
    """Faults in the last days before the issue time change the outcome: each is a ``data_fault``
    fallback naming the series (exit 1, in the report banner), or with ``strict`` a failed gate."""
    from gridai.data.recent import check_recent

    issue = job_issue_time(cfg, day)
    faults = [
        f
        for f in check_recent(history, issue, cfg.data.recent_checks, weather=weather)
        if f.severity == "error"
    ]
    inputs.findings.extend(faults)
    for f in faults:
        if cfg.data.strict:
            inputs.gate_failed.append(f"{f.kind} on {f.series}: {f.message}")
        else:
            manifest.add_fallback("data", FallbackKind.DATA_FAULT, f"{f.kind}: {f.message}")


def _quality_findings(
    load: xr.Dataset, weather: xr.Dataset, cfg: DataSourceConfig, manifest: RunManifest
) -> list[Finding]:
    """The data layer's quality checks (non-strict: findings only)."""
    try:
        from gridai.data import validation
    except ImportError:
        manifest.warn("data quality checks unavailable (gridai.data.validation not installed)")
        return []
    findings: list[Finding] = []
    findings += list(validation.check_load(load, strict=False, source=str(cfg.load_path)))
    check_weather = getattr(validation, "check_weather", None)
    if check_weather is not None:
        findings += list(check_weather(weather, strict=False, source=str(cfg.weather_path or cfg.load_path)))
    n_err = sum(f.severity == "error" for f in findings)
    if n_err:
        manifest.warn(f"data quality: {n_err} error-severity findings in the history window (see run.json)")
    return findings


# ---------------------------------------------------------------------------------- forecast
@dataclass
class ForecastOutcome:
    forecast: xr.Dataset
    model_info: ModelRecord
    hindcast: Callable[[pd.Timestamp], xr.Dataset] | None = None
    """The forecaster used for D, applied to another day under the same issue-time protocol (the
    report's D-1 chart when no forecast of D-1 was published); may raise."""


def forecast_day(
    cfg: DayAheadConfig,
    day: pd.Timestamp,
    inputs: Inputs,
    manifest: RunManifest,
    store: Any | None,
    store_error: str | None,
) -> ForecastOutcome:
    """Step 2: the champion's forecast of D, or the baseline's, flagged ``substituted``.

    Parameters
    ----------
    store:
        :class:`~gridai.tracking.store.ModelStore` (``None`` when the tracking store is unusable).
    store_error:
        Why ``store`` is ``None``.
    """
    uri = cfg.model.uri
    info: ModelRecord = {"requested": uri, "substituted": False}
    reason: str | None = None
    model = None
    if uri.startswith("baseline:"):
        # the baseline asked for on purpose (benchmarks, sites without a trained model): not a fallback
        if inputs.gate_failed:
            manifest.add_fallback("forecast", FallbackKind.GATES_FAILED, "; ".join(inputs.gate_failed))
        name = uri.split(":", 1)[1]
        fc = _baseline_forecast(cfg, inputs, _history(inputs.load, day), day, name)
        info.update({"used": uri, "model": name})
        return ForecastOutcome(
            fc, info, lambda d: _baseline_forecast(cfg, inputs, _history(inputs.load, d), d, name)
        )
    if inputs.gate_failed:
        reason = "input data failed the quality gates: " + "; ".join(inputs.gate_failed)
    else:
        try:
            model, resolved = _load_model(uri, store, store_error, cfg.model.sha256, info)
            info.update(
                {
                    "used": uri,
                    "name": resolved.name,
                    "version": resolved.version,
                    "run_id": resolved.run_id,
                    "model": getattr(model, "name", None),
                }
            )
        except GridAIError as err:
            reason = f"champion {uri} unusable: {err}"
        except Exception as err:  # noqa: BLE001 - a broken artifact may raise anything: substitute, flag
            reason = f"champion {uri} failed to load: {type(err).__name__}: {err}"
    hist = _history(inputs.load, day)
    if model is not None:
        try:
            fc = _predict(model, cfg, inputs, day)
            champion = model
            return ForecastOutcome(fc, info, lambda d: _predict(champion, cfg, inputs, d))
        except GridAIError as err:
            reason = f"champion {uri} cannot forecast {day.date()}: {err}"
        except Exception as err:  # noqa: BLE001
            reason = f"champion {uri} failed to forecast: {type(err).__name__}: {err}"
    assert reason is not None
    manifest.add_fallback("forecast", FallbackKind.SUBSTITUTED, reason)
    fc = _baseline_forecast(cfg, inputs, hist, day)
    info.update(
        {
            "used": f"baseline:{cfg.model.fallback}",
            "substituted": True,
            "reason": reason,
            "model": cfg.model.fallback,
        }
    )
    return ForecastOutcome(fc, info, lambda d: _baseline_forecast(cfg, inputs, _history(inputs.load, d), d))


def _history(load: xr.Dataset, day: pd.Timestamp) -> xr.Dataset:
    return load.sel(time=load["time"] < np.datetime64(day))


def _load_model(
    uri: str, store: Any | None, store_error: str | None, expected_sha256: str | None, info: ModelRecord
) -> tuple[Any, Any]:
    from gridai.tracking.store import ModelStore, ResolvedModel

    if not uri.startswith(("models:/", "runs:/")) and Path(uri.removeprefix("file://")).exists():
        from gridai.forecast.registry import load_forecaster
        from gridai.tracking.loading import model_directory_digest

        local = Path(uri.removeprefix("file://"))
        digest = model_directory_digest(local)
        info["sha256"] = digest
        if expected_sha256 is not None and digest != expected_sha256:
            raise GridAIError(
                f"model directory {local} has digest {digest}, not model.sha256 {expected_sha256}: its files "
                "changed since it was pinned"
            )
        return load_forecaster(local), ResolvedModel(uri=uri, local_path=uri)
    if store is None:
        raise GridAIError(f"the tracking store is unusable ({store_error})")
    assert isinstance(store, ModelStore)
    return store.load_forecaster(uri)


def _predict(model: Any, cfg: DayAheadConfig, inputs: Inputs, day: pd.Timestamp) -> xr.Dataset:
    if cfg.forecast_issue_lead_hours is not None:
        model.cfg = model.cfg.model_copy(update={"issue_lead_hours": cfg.forecast_issue_lead_hours})
    elif inputs.weather_forecast is not None:
        # the forecast file was checked at the job's issue time: serve the model at that time too
        model.cfg = model.cfg.model_copy(update={"issue_lead_hours": DEFAULT_ISSUE_LEAD_H})
    fc = model.predict(inputs.load, inputs.weather, day.date(), weather_forecast=inputs.weather_forecast)
    values = fc["load_forecast"].values
    if not np.isfinite(values).all():
        bad = [
            str(s)
            for s, ok in zip(fc["series"].values, np.isfinite(values).all(axis=(0, 2)), strict=True)
            if not ok
        ]
        raise GridAIDataError("the forecast has NaN values", series=bad)
    return fc


def _baseline_forecast(
    cfg: DayAheadConfig, inputs: Inputs, hist: xr.Dataset, day: pd.Timestamp, name: str | None = None
) -> xr.Dataset:
    """Fit the configured baseline on the history window and forecast D.

    Series without any value in the window are filled with zeros for the baseline only and
    reported as such (their feeders are idled downstream); missing weather is filled with the
    last observed day (the seasonal-naive baseline does not use it). With a weather forecast file,
    the baseline reads weather after the issue time from it, as the champion does.
    """
    from gridai.forecast.config import ForecastConfig
    from gridai.forecast.registry import make_forecaster

    load = inputs.load.copy(deep=True)
    if inputs.nan_series:
        load["load"].loc[{"series": inputs.nan_series}] = 0.0
    load["load"].values[:] = pd.DataFrame(load["load"].values).ffill().bfill().to_numpy()
    weather = _fill_weather(inputs.weather, day)
    n_days = int((day - pd.Timestamp(load["time"].values[0])) / pd.Timedelta(days=1))
    lead = job_issue_lead_hours(cfg)
    fcfg = ForecastConfig(
        model=name or cfg.model.fallback,
        issue_lead_hours=lead,
        validation_days=7,
        min_train_days=7,
        baseline_residual_days=max(14, n_days - 9),
        reconciliation="bottom_up",
        holiday_country=None,
    )
    model = make_forecaster(fcfg)
    model.fit(load, weather, end=day - pd.Timedelta(hours=lead))
    fc = model.predict(load, weather, day.date(), weather_forecast=inputs.weather_forecast)
    if inputs.nan_series:
        fc["load_forecast"].loc[{"series": inputs.nan_series}] = np.nan
    return fc


def _fill_weather(weather: xr.Dataset, day: pd.Timestamp) -> xr.Dataset:
    """Weather with gaps filled: forward in time, then the same hour of the previous day."""
    w = weather.copy(deep=True)
    t = pd.DatetimeIndex(w["time"].values)
    end = day + pd.Timedelta(days=1)
    full = pd.date_range(t[0], end, freq="1h", inclusive="left")
    w = w.reindex(time=full.values)
    arr = w["temperature"].values
    frame = pd.DataFrame(arr).ffill().bfill()
    w["temperature"].values[:] = frame.to_numpy()
    return w
