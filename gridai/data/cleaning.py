"""Cleaning: put the data on a regular grid, invalidate flagged points, impute, flag what was filled.

Invariant (tested with hypothesis): a value whose ``imputed`` flag is False is exactly the input
value at that timestamp (or NaN at a grid timestamp the input lacked). ``imputed`` marks every
value cleaning changed: filled gaps and replaced invalid points (an invalid point that could not be
imputed becomes NaN and is flagged too). Cleaning acts only on the
findings passed to it, so dropping a finding from the list keeps the points it concerns.

Imputation of a run of missing values (NaN from the input or invalidated by a finding):

1. runs up to ``interpolate_max_hours`` with a value on both sides: linear interpolation in time;
2. runs up to ``impute_max_hours``: the mean of the values at the same position in up to
   ``max_periods`` seasonal periods before and after (a week for load: same weekday and hour;
   a day for weather: same hour);
3. anything else stays missing (and unflagged).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from gridai.data.detection import BLOCKING_KINDS, detect, recall, structure
from gridai.data.panel import RegularSeries, run_points, runs
from gridai.exceptions import Finding, GridAIDataError

if TYPE_CHECKING:
    from gridai.data.validation import QualityConfig

logger = logging.getLogger(__name__)

# Finding kinds whose points clean() replaces (each subject to a CleaningConfig switch below).
REPLACED = ("non_finite", "negative", "implausible_value", "flatline", "zero_flatline", "outlier")


def impute(
    x: np.ndarray,
    step: pd.Timedelta,
    period_hours: float,
    interp_hours: float,
    max_hours: float,
    max_periods: int,
) -> np.ndarray:
    """Fill NaN runs of a ``(series, time)`` array **in place**; return the mask of filled points.

    Fill values are computed from the values present before any filling, then written, so a
    filled point never donates to another. Work and memory grow with the number of missing
    points only.
    """
    t_len = x.shape[1]
    s, a, n = runs(np.isnan(x))
    filled = np.zeros(x.shape, dtype=bool)
    if len(n) == 0:
        return filled
    hours = step / pd.Timedelta(hours=1)
    prev, nxt = a - 1, a + n
    linear = (n * hours <= interp_hours) & (prev >= 0) & (nxt < t_len)
    seasonal = ~linear & (n * hours <= max_hours)
    # 1. linear interpolation between the neighbours of the run
    c1, t1, r = run_points(s[linear], a[linear], n[linear])
    p, q = prev[linear][r], nxt[linear][r]
    w = (t1 - p) / (q - p)
    v1 = x[c1, p] * (1 - w) + x[c1, q] * w
    # 2. mean of the same position in up to max_periods seasonal periods before and after
    c2, t2, _ = run_points(s[seasonal], a[seasonal], n[seasonal])
    period = max(1, int(round(pd.Timedelta(hours=period_hours) / step)))
    total = np.zeros(len(t2))
    count = np.zeros(len(t2))
    for k in range(1, max_periods + 1):
        for sign in (-1, 1):
            tt = t2 + sign * k * period
            ok = (tt >= 0) & (tt < t_len)
            donor = np.full(len(t2), np.nan)
            donor[ok] = x[c2[ok], tt[ok]]
            has = ~np.isnan(donor)
            total[has] += donor[has]
            count[has] += 1
    has = count > 0
    x[c1, t1] = v1
    x[c2[has], t2[has]] = total[has] / count[has]
    filled[c1, t1] = True
    filled[c2[has], t2[has]] = True
    return filled


def _rows_named(findings: list[Finding], kind: str, names: list[str]) -> np.ndarray:
    """Rows (series) named by findings of ``kind`` (``series=None`` -> all rows)."""
    rows = np.zeros(len(names), dtype=bool)
    index = {n: j for j, n in enumerate(names)}
    for f in findings:
        if f.kind != kind:
            continue
        if f.series is None:
            rows[:] = True
        else:
            for name in str(f.series).split(","):
                if name in index:
                    rows[index[name]] = True
    return rows


def clean(ds: xr.Dataset, findings: list[Finding], cfg: QualityConfig | None = None) -> xr.Dataset:
    """Return a cleaned copy of a load or weather dataset, acting on ``findings``.

    The time axis is made regular (absent grid timestamps inserted), points named by the
    findings of kinds ``non_finite``, ``negative``, ``implausible_value`` (temperature),
    ``flatline``, ``zero_flatline`` and ``outlier`` are invalidated, and missing values are
    imputed (see the module docstring). The boolean variable ``imputed`` flags every filled
    point, and every invalid point that could not be filled and is now NaN (ORed with an existing
    ``imputed``); attrs gain ``cleaned=True``.

    Given the very list ``check_load``/``check_weather`` returned for ``ds``, the detections are
    reused; given any other list (e.g. a filtered copy), the points are detected again.

    Raises
    ------
    GridAIDataError
        A finding that cleaning cannot repair: duplicated, decreasing or off-grid timestamps, an
        empty series, or an implausible load magnitude (wrong units / corrupt file). The message
        names the file, series and timestamps.
    """
    from gridai.data.validation import QualityConfig

    cfg = cfg or QualityConfig()
    kind = "load" if "load" in ds.data_vars else "weather"
    var, dim = ("load", "series") if kind == "load" else ("temperature", "station")
    source = ds.attrs.get("source_file")
    blocking = set(BLOCKING_KINDS) | ({"implausible_value"} if kind == "load" else set())
    for f in findings:
        if f.kind in blocking:
            raise GridAIDataError(
                f"cannot clean: {f.kind}: {f.message}",
                file=source,
                series=f.series,
                timestamps=[t for t in (f.start, f.end) if t],
                kind=f.kind,
            )
    _, panel = structure(ds, var, dim)
    if panel is None:  # pragma: no cover - structural findings are blocking above
        raise GridAIDataError("cannot clean: the time index is not regular", file=source)
    x = panel.x
    point_runs = recall(findings, ds, var)
    if point_runs is None:
        point_runs = detect(ds, kind, cfg, only={f.kind for f in findings} & set(REPLACED)).point_runs
    switches = {
        "outlier": cfg.cleaning.impute_outliers,
        "flatline": cfg.cleaning.impute_flatlines,
        "zero_flatline": cfg.cleaning.impute_flatlines,
    }
    invalid = np.zeros(x.shape, dtype=bool)
    for k in REPLACED:
        key = "flatline" if k == "zero_flatline" else k
        if not switches.get(k, True) or key not in point_runs:
            continue
        s, a, n = point_runs[key]
        keep = _rows_named(findings, k, panel.names)[s]
        if key == "flatline":  # one set of runs holds both: a run's value tells which
            keep &= (x[s, a] == 0) if k == "zero_flatline" else (x[s, a] != 0)
        rows, cols, _ = run_points(s[keep], a[keep], n[keep])
        invalid[rows, cols] = True
    x[invalid] = np.nan
    period = cfg.cleaning.load_period_hours if kind == "load" else cfg.cleaning.weather_period_hours
    filled = impute(
        x,
        panel.step,
        period,
        cfg.cleaning.interpolate_max_hours,
        cfg.cleaning.impute_max_hours,
        cfg.cleaning.max_periods,
    )
    # an invalidated point that could not be imputed was still changed (to NaN): flag it too
    out = _rebuild(ds, var, dim, panel, filled | invalid)
    logger.info(
        "cleaned %s: %d points invalidated, %d imputed, %d still missing",
        source or kind,
        int(invalid.sum()),
        int(filled.sum()),
        int(np.isnan(x).sum()),
    )
    return out


def _rebuild(ds: xr.Dataset, var: str, dim: str, panel: RegularSeries, changed: np.ndarray) -> xr.Dataset:
    """The output dataset: ``(time, dim)`` layout, the input's coordinates and attributes."""
    time = panel.time.values.astype("datetime64[ns]")
    imputed = np.ascontiguousarray(changed.T)
    if "imputed" in ds.data_vars:
        prior = ds["imputed"].transpose("time", dim).reindex(time=time, fill_value=False).values.astype(bool)
        imputed |= prior
    out = ds.drop_vars([v for v in ds.data_vars if "time" in ds[v].dims]).drop_dims("time", errors="ignore")
    out = out.assign_coords(time=time)
    out[var] = xr.DataArray(np.ascontiguousarray(panel.x.T), dims=("time", dim), attrs=dict(ds[var].attrs))
    out["imputed"] = xr.DataArray(
        imputed,
        dims=("time", dim),
        attrs={
            "description": "value changed by cleaning: imputed, or removed (NaN) when it was invalid and "
            "could not be imputed"
        },
    )
    for c in ds.coords:
        if c not in out.coords and "time" not in ds[c].dims:
            out = out.assign_coords({c: ds[c]})
    out.attrs = dict(ds.attrs)
    out.attrs["cleaned"] = True
    return out
