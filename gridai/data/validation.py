"""Quality gates for load and weather data: ``check_load``, ``check_weather`` and ``clean``.

Every check returns structured :class:`~gridai.exceptions.Finding` objects (kind, severity,
series, time span, count) and passes each through one helper, :func:`_log_or_raise`: in strict
mode an error-severity finding raises :class:`~gridai.exceptions.GridAIDataError` naming the
file, series and timestamps; otherwise it is logged and the data can be cleaned with
:func:`clean` (imputation, with the filled points flagged in a boolean ``imputed`` variable).

Finding kinds
-------------
==================== ======== ===================================================== ==========
kind                 severity meaning                                               clean()
==================== ======== ===================================================== ==========
duplicate_timestamp  error    a timestamp appears more than once                    refuses
non_monotonic        error    timestamps go backwards                               refuses
irregular_step       error    timestamps off the grid of the resolution             refuses
missing_timestamps   warning  grid timestamps absent from the index                 imputes
gap                  w / e    runs of missing values (error when >= gap_error_hours) imputes
dst_transition       info     a clock change of the source time zone (converted)    -
empty_series         error    a series without any value                            refuses
low_completeness     warning  a series with less than min_completeness present      -
non_finite           error    infinite values                                       imputes
negative             error    negative load (unless allow_negative)                 imputes
implausible_value    error    load beyond max_abs_load_kw / temperature out of range refuses (load), imputes (temperature)
flatline             warning  a constant non-zero run                               imputes
zero_flatline        warning  a long zero run (nightly zeros of solar exempt)       imputes
outlier              warning  spikes (robust z-score against the neighbours)        imputes
identical_series     warning  a series repeating another exactly                    -
level_shift          warning  a persistent change of level                          -
==================== ======== ===================================================== ==========
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field

from gridai.config import StrictModel
from gridai.data import checks
from gridai.data.checks import Panel
from gridai.exceptions import Finding, GridAIDataError

logger = logging.getLogger(__name__)

BLOCKING_KINDS = frozenset({"duplicate_timestamp", "non_monotonic", "irregular_step", "empty_series"})
SEVERITY_ORDER = {"info": 0, "warning": 1, "error": 2}


class CleaningConfig(StrictModel):
    """How :func:`clean` fills missing and invalidated values."""

    interpolate_max_hours: float = Field(
        default=3.0,
        gt=0,
        description="Gaps up to this long [h] with values on both sides are filled by linear interpolation.",
    )
    impute_max_hours: float = Field(
        default=336.0,
        gt=0,
        description="Longer gaps up to this long [h] are filled from the same time in neighbouring seasonal "
        "periods; longer ones stay missing (and unflagged).",
    )
    load_period_hours: float = Field(
        default=168.0,
        gt=0,
        description="Seasonal period of load [h] used for long gaps (a week: weekday and hour).",
    )
    weather_period_hours: float = Field(
        default=24.0,
        gt=0,
        description="Seasonal period of weather [h] used for long gaps (a day: hour of day).",
    )
    max_periods: int = Field(
        default=4,
        ge=1,
        description="How many periods before and after a gap may donate values (their mean is used).",
    )
    impute_outliers: bool = Field(
        default=True, description="Replace points flagged as outliers by imputed values."
    )
    impute_flatlines: bool = Field(
        default=True, description="Replace flatline and zero-flatline runs by imputed values."
    )


class QualityConfig(StrictModel):
    """Thresholds of the quality checks; every field is in the units its name says."""

    gap_error_hours: float = Field(
        default=24.0,
        gt=0,
        description="A run of missing values at least this long [h] is an error; shorter runs are warnings.",
    )
    min_completeness: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Series with a smaller fraction of values present get a low_completeness warning.",
    )
    allow_negative: bool = Field(
        default=False,
        description="Accept negative load (net load with behind-the-meter generation or export).",
    )
    max_abs_load_kw: float = Field(
        default=1e9,
        gt=0,
        description="Largest plausible load magnitude [kW]; 1e9 kW = 1 TW exceeds the peak of any "
        "interconnection (the largest are ~0.8 TW), so larger values mean wrong units or a corrupt file.",
    )
    temperature_min_c: float = Field(
        default=-90.0, description="Lowest plausible air temperature [degC] (record: -89.2)."
    )
    temperature_max_c: float = Field(
        default=60.0, description="Highest plausible air temperature [degC] (record: 56.7)."
    )
    flatline_min_hours: float = Field(
        default=6.0,
        gt=0,
        description="A constant non-zero load lasting at least this long [h] is a flatline (stuck meter).",
    )
    weather_flatline_min_hours: float = Field(
        default=24.0,
        gt=0,
        description="A constant temperature lasting at least this long [h] is a flatline (sensors reporting "
        "whole degrees often repeat a value for several hours at night).",
    )
    zero_flatline_min_hours: float = Field(
        default=4.0,
        gt=0,
        description="A run of zero load at least this long [h] is a zero flatline (outage or dead meter).",
    )
    night_max_hours: float = Field(
        default=18.0,
        gt=0,
        description="Zero runs up to this long [h] in a series that is zero on most days are nights of a "
        "solar-like series, not faults.",
    )
    nightly_zero_day_fraction: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A series with zeros on at least this fraction of its days counts as solar-like.",
    )
    outlier_z: float = Field(
        default=8.0,
        gt=0,
        description="Robust z-score (residual against the neighbours' median / 1.4826 MAD) above which a point may be a spike.",
    )
    outlier_spike_ratio: float = Field(
        default=3.0,
        gt=0,
        description="A spike must also deviate from its neighbours' median by more than this multiple of the "
        "neighbours' own range (so ramps and steps are not spikes).",
    )
    outlier_half_window: int = Field(
        default=2, ge=1, description="Neighbours on each side [steps] for the spike test."
    )
    level_shift_ratio: float = Field(
        default=2.0,
        gt=1,
        description="A level shift is a change by more than this factor between the median daily means "
        "before and after a day.",
    )
    level_shift_window_days: int = Field(
        default=28, ge=2, description="Days on each side compared by the level-shift test."
    )
    level_shift_common_mode: bool = Field(
        default=True,
        description="With >= 3 series, divide out the cross-series median level first (removes shared weather and season).",
    )
    disabled_checks: list[str] = Field(
        default_factory=list, description="Finding kinds not to check (e.g. ['outlier', 'level_shift'])."
    )
    cleaning: CleaningConfig = Field(
        default_factory=lambda: CleaningConfig(), description="How clean() imputes."
    )


def _log_or_raise(strict: bool, finding: Finding, source: str | None = None) -> None:
    """Raise for an error-severity ``finding`` in strict mode; otherwise log it.

    Raises
    ------
    GridAIDataError
        ``strict`` and ``finding.severity == "error"``; the message names the file, series and
        timestamps.
    """
    if strict and finding.severity == "error":
        stamps = [t for t in (finding.start, finding.end) if t]
        raise GridAIDataError(
            f"data check failed ({finding.kind}): {finding.message}",
            file=source,
            series=finding.series,
            timestamps=stamps,
            kind=finding.kind,
        )
    level = logging.INFO if finding.severity == "info" else logging.WARNING
    logger.log(
        level,
        "%s%s [%s]: %s",
        f"{source}: " if source else "",
        finding.kind,
        finding.severity,
        finding.message,
    )


def _structure(ds: xr.Dataset, var: str, dim: str) -> tuple[list[Finding], Panel | None]:
    """Index checks and the regular-grid panel (``None`` when the index cannot be put on a grid)."""
    if var not in ds.data_vars or "time" not in ds[var].dims or dim not in ds[var].dims or ds[var].ndim != 2:
        raise GridAIDataError(f"expected a variable {var!r} with dims (time, {dim}); got {dict(ds.sizes)}")
    time = pd.DatetimeIndex(ds["time"].values)
    names = [str(n) for n in ds[dim].values]
    out: list[Finding] = []
    if len(time) == 0:
        raise GridAIDataError("the dataset has no timestamps")
    dup = np.asarray(time.duplicated())
    if dup.any():
        out.append(
            Finding(
                "duplicate_timestamp",
                "error",
                f"{int(dup.sum())} duplicated timestamps, e.g. {[str(t) for t in time[dup][: checks.SHOW]]}",
                start=time[dup][0].isoformat(),
                end=time[dup][-1].isoformat(),
                count=int(dup.sum()),
            )
        )
    back = np.flatnonzero(np.asarray(time[1:] < time[:-1])) + 1
    if len(back):
        out.append(
            Finding(
                "non_monotonic",
                "error",
                f"timestamps go backwards {len(back)} times, first at {time[back[0]]} after {time[back[0] - 1]}",
                start=time[back[0]].isoformat(),
                count=len(back),
            )
        )
    if out:
        return out, None
    if "resolution" in ds.attrs:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(str(ds.attrs["resolution"])))  # type: ignore[arg-type]
    elif len(time) > 1:
        step = pd.Timedelta(pd.Series(time[1:] - time[:-1]).mode().iloc[0])
    else:
        step = pd.Timedelta(hours=1)
    values = ds[var].transpose("time", dim).values.astype("float64")
    off = np.asarray((time - time[0]) % step != pd.Timedelta(0))
    if off.any():
        out.append(
            Finding(
                "irregular_step",
                "error",
                f"{int(off.sum())} timestamps are off the {step} grid, e.g. {[str(t) for t in time[off][: checks.SHOW]]}",
                start=time[off][0].isoformat(),
                end=time[off][-1].isoformat(),
                count=int(off.sum()),
            )
        )
        time, values = time[~off], values[~off]
    grid = pd.date_range(time[0], time[-1], freq=step)
    rows = grid.get_indexer(time)
    present = np.zeros(len(grid), dtype=bool)
    present[rows] = True
    if len(grid) != len(time):
        full = np.full((len(grid), values.shape[1]), np.nan)
        full[rows] = values
        values = full
        missing = grid[~present]
        out.append(
            Finding(
                "missing_timestamps",
                "warning",
                f"{len(missing)} timestamps absent from the {step} grid, e.g. {[str(t) for t in missing[: checks.SHOW]]}",
                start=missing[0].isoformat(),
                end=missing[-1].isoformat(),
                count=len(missing),
            )
        )
    return out, Panel(values=values, time=grid, names=names, step=step, present=present)


def _detect(
    ds: xr.Dataset, kind: str, cfg: QualityConfig, only: set[str] | None = None
) -> tuple[list[Finding], dict[str, np.ndarray], Panel | None]:
    """Run the enabled checks (or just ``only``); return findings, masks of invalid points per kind, and the panel."""
    var, dim = ("load", "series") if kind == "load" else ("temperature", "station")
    findings, panel = _structure(ds, var, dim)
    findings += checks.find_dst_transitions(
        pd.DatetimeIndex(ds["time"].values),
        str(ds.attrs.get("source_tz", "UTC")),
        int(ds.attrs.get("dst_repeats_resolved", 0)),
    )
    masks: dict[str, np.ndarray] = {}
    if panel is None:
        return findings, masks, None
    on = (set(checks.ALL_KINDS) if only is None else set(only)) - set(cfg.disabled_checks)
    findings += checks.find_low_completeness(panel, cfg.min_completeness)
    if "gap" in on:
        findings += checks.find_gaps(panel, cfg.gap_error_hours)
    f, masks["non_finite"] = checks.find_non_finite(panel)
    findings += f
    if kind == "load":
        if not cfg.allow_negative and "negative" in on:
            f, masks["negative"] = checks.find_negative(panel)
            findings += f
        limit = cfg.max_abs_load_kw / (1000.0 if ds.attrs.get("units") == "MW" else 1.0)
        f, masks["implausible_value"] = checks.find_out_of_range(
            panel, -limit, limit, "implausible_value", str(ds.attrs.get("units", "kW"))
        )
    else:
        f, masks["implausible_value"] = checks.find_out_of_range(
            panel, cfg.temperature_min_c, cfg.temperature_max_c, "implausible_value", "degC"
        )
    findings += f
    invalid = np.zeros(panel.values.shape, dtype=bool)
    for m in masks.values():
        invalid |= m
    work = Panel(np.where(invalid, np.nan, panel.values), panel.time, panel.names, panel.step, panel.present)
    if "flatline" in on or "zero_flatline" in on:
        f, flat = checks.find_flatlines(
            work,
            cfg.flatline_min_hours if kind == "load" else cfg.weather_flatline_min_hours,
            zero_min_hours=cfg.zero_flatline_min_hours if kind == "load" else None,
            night_max_hours=cfg.night_max_hours,
            nightly_zero_day_fraction=cfg.nightly_zero_day_fraction,
        )
        findings += [x for x in f if x.kind in on]
        masks["flatline"] = flat
    if "outlier" in on:
        f, masks["outlier"] = checks.find_outliers(
            work, cfg.outlier_z, cfg.outlier_spike_ratio, cfg.outlier_half_window
        )
        findings += f
    if "identical_series" in on:
        findings += checks.find_identical(work)
    if (
        kind == "load"
        and "level_shift" in on
        and len(panel.time) * panel.step >= pd.Timedelta(days=2 * cfg.level_shift_window_days)
    ):
        findings += checks.find_level_shifts(
            work, cfg.level_shift_ratio, cfg.level_shift_window_days, cfg.level_shift_common_mode
        )
    findings = [x for x in findings if x.kind in on or x.kind in BLOCKING_KINDS]
    return findings, masks, panel


def _check(
    ds: xr.Dataset, kind: str, strict: bool, source: str | None, cfg: QualityConfig | None
) -> list[Finding]:
    cfg = cfg or QualityConfig()
    source = source or ds.attrs.get("source_file")
    findings, _, _ = _detect(ds, kind, cfg)
    for finding in sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 0)):
        _log_or_raise(strict, finding, source)
    return findings


def check_load(
    ds: xr.Dataset, *, strict: bool = False, source: str | None = None, cfg: QualityConfig | None = None
) -> list[Finding]:
    """Check a canonical load dataset (``load`` ``(time, series)``); see the module docstring for the kinds.

    Parameters
    ----------
    strict:
        Raise on the first error-severity finding (after logging the others).
    source:
        File named in messages; default ``ds.attrs["source_file"]``.
    cfg:
        Thresholds; default :class:`QualityConfig`.

    Raises
    ------
    GridAIDataError
        ``strict`` and an error-severity finding; or ``ds`` is not a load dataset.
    """
    return _check(ds, "load", strict, source, cfg)


def check_weather(
    ds: xr.Dataset, *, strict: bool = False, source: str | None = None, cfg: QualityConfig | None = None
) -> list[Finding]:
    """Check a weather-observation dataset (``temperature`` ``(time, station)`` [degC]); as :func:`check_load`."""
    return _check(ds, "weather", strict, source, cfg)


def findings_report(findings: dict[str, list[Finding]], **extra: Any) -> dict[str, Any]:
    """A JSON-ready report: per dataset the findings and counts by severity, plus ``extra`` fields."""
    out: dict[str, Any] = dict(extra)
    out["datasets"] = {
        name: {
            "counts": {sev: sum(f.severity == sev for f in items) for sev in ("error", "warning", "info")},
            "findings": [f.to_dict() for f in items],
        }
        for name, items in findings.items()
    }
    return out


from gridai.data.cleaning import clean  # noqa: E402  (re-exported: clean acts on these findings)

__all__ = [
    "BLOCKING_KINDS",
    "CleaningConfig",
    "QualityConfig",
    "check_load",
    "check_weather",
    "clean",
    "findings_report",
]
