"""Checks of the last days before a forecast: the faults that move a forecast without failing a
whole-history check.

A day-ahead forecast leans on the last days of load before the issue time (lags, level) and on
the weather. A fault there — a meter switching from kW to MW, the last two days missing, a
series overwritten by a copy of another, one SCADA hour multiplied by 100, temperatures in degF
declared degC — is a small part of the history, so the whole-history detectors
(:mod:`gridai.data.checks`) rate it a warning at most, yet it moves the forecast by tens of
percent. :func:`check_recent` compares the ``recent_days`` before the issue time with the
``reference_days`` before them, per series, with robust statistics (medians), and reports each
fault as an ``error`` finding naming the series and the time:

``stale``         no value in the last ``max_stale_hours`` before the issue time;
``unit_change``   recent median / reference median near 1000 or 1/1000 (kW <-> MW, W <-> kW);
``level_shift``   a recent day's median outside ``[lowest / level_factor, highest x level_factor]`` of the
                  reference days' medians (so a zone that often runs low, or a heat wave, is not
                  flagged, and a halving or doubling beyond anything seen before is);
``spike``         a value above ``spike_factor`` x the reference's 99th percentile;
``became_copy``   a series equal to another over the recent days but not over the reference;
``temperature``   a temperature outside ``[-60, 60]`` degC, or a recent mean more than
                  ``temp_jump_k`` from the reference mean (degF read as degC moves 20 degC to 68).

The defaults were set from physical bounds and checked for false alarms on every day of the
GEFCom2012 load history (see ``tests/data/test_data_recent.py``), not tuned to a fault.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field

from gridai.config import StrictModel
from gridai.exceptions import Finding

#: Equal values in a row, up to the issue time, that make two series copies (a day of hourly data).
MIN_COPY_POINTS = 24


class RecentChecksConfig(StrictModel):
    """Thresholds of :func:`check_recent` (see the module docstring for each check)."""

    recent_days: int = Field(3, ge=1, le=14, description="Days before the issue time checked [d].")
    reference_days: int = Field(28, ge=7, le=365, description="Days before those, the reference [d].")
    max_stale_hours: float = Field(
        36.0, gt=0, description="Longest stretch without data allowed right before the issue time [h]."
    )
    level_factor: float = Field(
        2.0,
        gt=1,
        description="A recent day's median over x times the highest reference day's median (or under "
        "the lowest over x) is a level shift.",
    )
    spike_factor: float = Field(
        5.0, gt=1, description="A value over x times the reference's 99th percentile is a spike."
    )
    temp_jump_k: float = Field(
        15.0, gt=0, description="Largest change of a station's mean temperature, recent vs reference [K]."
    )


def _spike_cap(values: np.ndarray, spike_factor: float) -> float:
    """Largest magnitude that is not a spike: ``spike_factor`` x the 99th percentile of ``|values|``."""
    return spike_factor * float(np.percentile(np.abs(values), 99))


def _ts(t: np.datetime64) -> str:
    return pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")


def check_recent(
    load: xr.Dataset,
    issue_time: pd.Timestamp,
    cfg: RecentChecksConfig | None = None,
    weather: xr.Dataset | None = None,
) -> list[Finding]:
    """Error findings for faults in the last ``recent_days`` of ``load`` (and ``weather``) before
    ``issue_time`` (naive UTC, the forecast's issue time).

    Parameters
    ----------
    load:
        Canonical load dataset, ``load (time, series)`` [its units].
    weather:
        Canonical weather dataset, ``temperature (time, station)`` [degC], optional.
    """
    cfg = cfg or RecentChecksConfig()
    issue = np.datetime64(pd.Timestamp(issue_time))
    start_recent = issue - np.timedelta64(cfg.recent_days, "D")
    start_ref = start_recent - np.timedelta64(cfg.reference_days, "D")
    t = load["time"].values
    recent_mask = (t >= start_recent) & (t < issue)
    ref_mask = (t >= start_ref) & (t < start_recent)
    values = load["load"].transpose("time", "series").values.astype(float)
    names = [str(s) for s in load["series"].values]
    out: list[Finding] = []
    for j, name in enumerate(names):
        out += _series_checks(name, t, values[:, j], recent_mask, ref_mask, issue, cfg)
    out += _copies(names, t, values, recent_mask, ref_mask)
    if weather is not None and "temperature" in weather:
        out += _temperature(weather, issue, start_recent, start_ref, cfg)
    return out


def _series_checks(
    name: str,
    t: np.ndarray,
    x: np.ndarray,
    recent_mask: np.ndarray,
    ref_mask: np.ndarray,
    issue: np.datetime64,
    cfg: RecentChecksConfig,
) -> list[Finding]:
    out: list[Finding] = []
    valid = np.isfinite(x) & (t < issue)
    last = t[valid][-1] if valid.any() else None
    stale_h = np.inf if last is None else (issue - last) / np.timedelta64(1, "h")
    if stale_h > cfg.max_stale_hours:
        since = "ever" if last is None else f"since {_ts(last)}"
        out.append(
            Finding(
                "stale",
                "error",
                f"{name}: no value {since} ({stale_h:.0f} h before the issue time "
                f"{_ts(issue)}; at most {cfg.max_stale_hours:g} h allowed)",
                series=name,
                start=None if last is None else pd.Timestamp(last).isoformat(),
            )  # fmt: skip
        )
    ref = x[ref_mask & np.isfinite(x)]
    rec_all = x[recent_mask]
    rec = rec_all[np.isfinite(rec_all)]
    if len(ref) < 24 or len(rec) == 0:
        return out
    ref_med = float(np.median(np.abs(ref)))
    if ref_med <= 0:
        return out
    ratio = float(np.median(np.abs(rec))) / ref_med
    for factor, unit in ((1000.0, "x1000 (kW read as W, or MW as kW?)"), (1e-3, "/1000 (kW read as MW?)")):
        if factor / 3 < ratio < factor * 3:
            out.append(
                Finding(
                    "unit_change",
                    "error",
                    f"{name}: the last days are {unit}: median {ratio:.4g} x the "
                    "weeks before; check the units of the recent data",
                    series=name,
                    count=len(rec),
                )  # fmt: skip
            )
            return out
    t_rec = t[recent_mask]
    ref_days = pd.Series(np.abs(x[ref_mask]), index=pd.DatetimeIndex(t[ref_mask]).normalize())
    ref_daily = ref_days.groupby(level=0).median().dropna()
    days = pd.DatetimeIndex(t_rec).normalize()
    if len(ref_daily) >= 7:
        lo, hi = float(ref_daily.min()) / cfg.level_factor, float(ref_daily.max()) * cfg.level_factor
        for day in days.unique():
            sel = (days == day) & np.isfinite(rec_all)
            if sel.sum() < 4:
                continue
            med = float(np.median(np.abs(rec_all[sel])))
            if med > hi or med < lo:
                out.append(
                    Finding(
                        "level_shift",
                        "error",
                        f"{name}: median of {day.date()} is {med:.4g}, outside "
                        f"{lo:.4g}..{hi:.4g} (the {len(ref_daily)} reference days' medians, / and x "
                        f"{cfg.level_factor:g})",
                        series=name,
                        start=day.isoformat(),
                    )  # fmt: skip
                )
                break
    cap = _spike_cap(ref, cfg.spike_factor)
    spikes = np.flatnonzero(np.isfinite(rec_all) & (np.abs(rec_all) > cap))
    if len(spikes):
        shown = ", ".join(_ts(t_rec[k]) for k in spikes[:3])
        out.append(
            Finding(
                "spike",
                "error",
                f"{name}: {len(spikes)} value(s) over {cfg.spike_factor:g} x the reference's "
                f"99th percentile ({cap:.4g}) at {shown}",
                series=name,
                start=pd.Timestamp(t_rec[spikes[0]]).isoformat(),
                count=len(spikes),
            )  # fmt: skip
        )
    return out


def _copies(
    names: list[str], t: np.ndarray, values: np.ndarray, recent: np.ndarray, ref: np.ndarray
) -> list[Finding]:
    out: list[Finding] = []
    rec = values[recent]
    base = values[ref]
    for a, b in itertools.combinations(range(len(names)), 2):
        ra, rb = rec[:, a], rec[:, b]
        both = np.isfinite(ra) & np.isfinite(rb)
        equal = both & (ra == rb)
        # the stretch of equal values that reaches the end of the recent days (gaps skipped)
        tail = np.flatnonzero(both)
        n_equal = 0
        for k in tail[::-1]:
            if not equal[k]:
                break
            n_equal += 1
        if n_equal < MIN_COPY_POINTS or np.ptp(ra[equal]) == 0:
            continue
        fa, fb = base[:, a], base[:, b]
        fboth = np.isfinite(fa) & np.isfinite(fb)
        if fboth.sum() and np.array_equal(fa[fboth], fb[fboth]):
            continue  # identical all along (a known duplicate): the whole-history check reports it
        out.append(
            Finding(
                "became_copy",
                "error",
                f"{names[b]} equals {names[a]} over the last days but not "
                "before: one of them was probably overwritten by a copy",
                series=names[b],
                count=int(both.sum()),
            )  # fmt: skip
        )
    return out


def _temperature(
    weather: xr.Dataset, issue: np.datetime64, start_recent: np.datetime64, start_ref: np.datetime64,
    cfg: RecentChecksConfig,
) -> list[Finding]:  # fmt: skip
    out: list[Finding] = []
    t = weather["time"].values
    temp = weather["temperature"].transpose("time", "station").values.astype(float)
    rec_m = (t >= start_recent) & (t < issue)
    ref_m = (t >= start_ref) & (t < start_recent)
    for j, st in enumerate(str(s) for s in weather["station"].values):
        rec = temp[rec_m, j]
        rec = rec[np.isfinite(rec)]
        if len(rec) == 0:
            continue
        lo, hi = float(rec.min()), float(rec.max())
        if hi > 60 or lo < -60:
            out.append(
                Finding(
                    "temperature",
                    "error",
                    f"station {st}: temperatures up to {hi:.1f} / down to {lo:.1f} degC "
                    "in the last days are not physical; degF given as degC?",
                    series=st,
                )  # fmt: skip
            )
            continue
        ref = temp[ref_m, j]
        ref = ref[np.isfinite(ref)]
        if len(ref) >= 24 and abs(float(rec.mean()) - float(ref.mean())) > cfg.temp_jump_k:
            out.append(
                Finding(
                    "temperature",
                    "error",
                    f"station {st}: mean {rec.mean():.1f} degC over the last days vs "
                    f"{ref.mean():.1f} degC before (more than {cfg.temp_jump_k:g} K apart); degF given as degC?",
                    series=st,
                )  # fmt: skip
            )
    return out


def robust_peak(values: np.ndarray, spike_factor: float = RecentChecksConfig().spike_factor) -> float:
    """Peak of ``values`` [their units] ignoring spikes: the largest value not above ``spike_factor``
    x the 99th percentile (the ``spike`` rule of :func:`check_recent`).

    On clean data this is the plain maximum; one SCADA hour x100 no longer sets the peak (it
    rescaled a feeder's demand to 1.7 % of its size). NaN when no value is finite.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return float("nan")
    kept = x[np.abs(x) <= _spike_cap(x, spike_factor)]
    return float(kept.max()) if len(kept) else float(x.max())
