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

import xarray as xr
from pydantic import Field

from gridai.config import StrictModel
from gridai.data.cleaning import clean
from gridai.data.detection import BLOCKING_KINDS, Findings, detect, remember
from gridai.exceptions import Finding, GridAIDataError

logger = logging.getLogger(__name__)

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


def _check(
    ds: xr.Dataset, kind: str, strict: bool, source: str | None, cfg: QualityConfig | None
) -> list[Finding]:
    cfg = cfg or QualityConfig()
    source = source or ds.attrs.get("source_file")
    findings = remember(ds, kind, detect(ds, kind, cfg))
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


__all__ = [
    "BLOCKING_KINDS",
    "CleaningConfig",
    "Findings",
    "QualityConfig",
    "check_load",
    "check_weather",
    "clean",
    "findings_report",
]
