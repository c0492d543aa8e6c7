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

from gridai.data.checks import Panel, runs
from gridai.exceptions import Finding, GridAIDataError

if TYPE_CHECKING:
    from gridai.data.validation import QualityConfig

logger = logging.getLogger(__name__)

# Finding kinds whose points clean() replaces (each subject to a CleaningConfig switch below).
REPLACED = ("non_finite", "negative", "implausible_value", "flatline", "zero_flatline", "outlier")


def _expand(
    series: np.ndarray, start: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of runs: ``(t, s, run index)``."""
    rep = np.repeat(np.arange(len(length)), length)
    offsets = np.arange(rep.size) - np.repeat(np.cumsum(length) - length, length)
    return start[rep] + offsets, series[rep], rep


def impute(
    values: np.ndarray,
    step: pd.Timedelta,
    period_hours: float,
    interp_hours: float,
    max_hours: float,
    max_periods: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN runs of a ``(time, series)`` array; return ``(filled, imputed_mask)``.

    Vectorised over the missing points only (memory grows with the number of missing points).
    """
    t_len = values.shape[0]
    out = values.copy()
    s, a, n = runs(np.isnan(values))
    if len(n) == 0:
        return out, np.zeros(values.shape, dtype=bool)
    hours = step / pd.Timedelta(hours=1)
    prev, nxt = a - 1, a + n
    linear = (n * hours <= interp_hours) & (prev >= 0) & (nxt < t_len)
    seasonal = ~linear & (n * hours <= max_hours)
    # 1. linear interpolation between the neighbours of the run
    t, c, r = _expand(s[linear], a[linear], n[linear])
    p, q = prev[linear][r], nxt[linear][r]
    w = (t - p) / (q - p)
    out[t, c] = values[p, c] * (1 - w) + values[q, c] * w
    # 2. mean of the same position in neighbouring seasonal periods
    t, c, _ = _expand(s[seasonal], a[seasonal], n[seasonal])
    period = max(1, int(round(pd.Timedelta(hours=period_hours) / step)))
    total = np.zeros(len(t))
    count = np.zeros(len(t))
    for k in range(1, max_periods + 1):
        for sign in (-1, 1):
            tt = t + sign * k * period
            ok = (tt >= 0) & (tt < t_len)
            donor = np.full(len(t), np.nan)
            donor[ok] = values[tt[ok], c[ok]]
            has = ~np.isnan(donor)
            total[has] += donor[has]
            count[has] += 1
    fill = count > 0
    out[t[fill], c[fill]] = total[fill] / count[fill]
    imputed = np.isnan(values) & ~np.isnan(out)
    return out, imputed


def _finding_mask(findings: list[Finding], kind: str, names: list[str], shape: tuple[int, int]) -> np.ndarray:
    """Columns named by findings of ``kind`` (``series=None`` -> all columns)."""
    cols = np.zeros(shape[1], dtype=bool)
    index = {n: j for j, n in enumerate(names)}
    for f in findings:
        if f.kind != kind:
            continue
        if f.series is None:
            cols[:] = True
        else:
            for name in str(f.series).split(","):
                if name in index:
                    cols[index[name]] = True
    return cols


def clean(ds: xr.Dataset, findings: list[Finding], cfg: QualityConfig | None = None) -> xr.Dataset:
    """Return a cleaned copy of a load or weather dataset, acting on ``findings``.

    The time axis is made regular (absent grid timestamps inserted), points named by the
    findings of kinds ``non_finite``, ``negative``, ``implausible_value`` (temperature),
    ``flatline``, ``zero_flatline`` and ``outlier`` are invalidated, and missing values are
    imputed (see the module docstring). The boolean variable ``imputed`` flags every filled
    point, and every invalid point that could not be filled and is now NaN (ORed with an existing
    ``imputed``); attrs gain ``cleaned=True``.

    Raises
    ------
    GridAIDataError
        A finding that cleaning cannot repair: duplicated, decreasing or off-grid timestamps, an
        empty series, or an implausible load magnitude (wrong units / corrupt file). The message
        names the file, series and timestamps.
    """
    from gridai.data.validation import BLOCKING_KINDS, QualityConfig, _detect

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
    _, masks, panel = _detect(ds, kind, cfg, only={f.kind for f in findings} & set(REPLACED))
    if panel is None:  # pragma: no cover - structural findings are blocking above
        raise GridAIDataError("cannot clean: the time index is not regular", file=source)
    switches = {
        "outlier": cfg.cleaning.impute_outliers,
        "flatline": cfg.cleaning.impute_flatlines,
        "zero_flatline": cfg.cleaning.impute_flatlines,
    }
    invalid = np.zeros(panel.values.shape, dtype=bool)
    for k in REPLACED:
        mask_key = "flatline" if k == "zero_flatline" else k
        if not switches.get(k, True) or mask_key not in masks:
            continue
        cols = _finding_mask(findings, k, panel.names, panel.values.shape)
        if k in ("flatline", "zero_flatline"):
            invalid |= _flat_kind(panel, masks[mask_key], zero=(k == "zero_flatline")) & cols
        else:
            invalid |= masks[mask_key] & cols
    values = np.where(invalid, np.nan, panel.values)
    period = cfg.cleaning.load_period_hours if kind == "load" else cfg.cleaning.weather_period_hours
    filled, imputed = impute(
        values,
        panel.step,
        period,
        cfg.cleaning.interpolate_max_hours,
        cfg.cleaning.impute_max_hours,
        cfg.cleaning.max_periods,
    )
    # an invalidated point that could not be imputed was still changed (to NaN): flag it too
    out = _rebuild(ds, var, dim, panel, filled, imputed | invalid)
    n_missing = int(np.isnan(filled).sum())
    logger.info(
        "cleaned %s: %d points invalidated, %d imputed, %d still missing",
        source or kind,
        int(invalid.sum()),
        int(out["imputed"].values.sum()),
        n_missing,
    )
    return out


def _flat_kind(panel: Panel, mask: np.ndarray, zero: bool) -> np.ndarray:
    """Split the flatline mask into its zero and non-zero runs."""
    is_zero = panel.values == 0
    return mask & is_zero if zero else mask & ~is_zero


def _rebuild(
    ds: xr.Dataset, var: str, dim: str, panel: Panel, filled: np.ndarray, imputed: np.ndarray
) -> xr.Dataset:
    time = panel.time.values.astype("datetime64[ns]")
    if "imputed" in ds.data_vars:
        prior = ds["imputed"].transpose("time", dim).reindex(time=time, fill_value=False).values.astype(bool)
        imputed = imputed | prior
    out = ds.drop_vars([v for v in ds.data_vars if "time" in ds[v].dims]).drop_dims("time", errors="ignore")
    out = out.assign_coords(time=time)
    out[var] = xr.DataArray(filled, dims=("time", dim), attrs=dict(ds[var].attrs))
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
