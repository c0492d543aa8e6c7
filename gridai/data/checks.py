"""Vectorised quality detectors over a :class:`~gridai.data.panel.RegularSeries` (``(series, time)`` values).

Each detector returns findings and, where cleaning can act on them, a boolean ``(series, time)``
mask of the points concerned. No detector loops over timestamps in Python; run-length work is
done by :func:`~gridai.data.panel.runs`. :mod:`gridai.data.validation` strings them together and
applies the strict/log policy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from gridai.data.panel import RegularSeries, Runs, nanmedian_rows, runs, summarise_runs
from gridai.exceptions import Finding

ALL_KINDS = (
    "duplicate_timestamp",
    "non_monotonic",
    "irregular_step",
    "missing_timestamps",
    "gap",
    "dst_transition",
    "empty_series",
    "low_completeness",
    "non_finite",
    "negative",
    "implausible_value",
    "flatline",
    "zero_flatline",
    "outlier",
    "identical_series",
    "level_shift",
)
# Series per block in the outlier detector: bounds its temporary memory (~8 arrays of block x T floats).
BLOCK = 128
# Consistency constant of the median absolute deviation for normally distributed noise.
MAD_TO_SIGMA = 1.4826


def find_gaps(panel: RegularSeries, error_hours: float) -> list[Finding]:
    """Runs of missing values (NaN or absent timestamps): each long run an error, short ones a warning."""
    s, a, n = runs(np.isnan(panel.x))
    long_ = n >= panel.steps(error_hours)
    out = summarise_runs(
        panel, "gap", "warning", f"gaps shorter than {error_hours:g} h", s[~long_], a[~long_], n[~long_]
    )
    if long_.any():
        # a long gap is reported per span; shared spans (blank rows) once for all series
        frame = pd.DataFrame({"s": s[long_], "a": a[long_], "n": n[long_]})
        for key, grp in frame.groupby(["a", "n"], sort=True):
            start, length = (int(v) for v in key)  # type: ignore[union-attr, call-overload]
            names = [panel.names[i] for i in grp["s"]]
            who = "all series" if len(names) == len(panel.names) and len(names) > 1 else ", ".join(names[:10])
            hours = length * panel.step / pd.Timedelta(hours=1)
            out.append(
                Finding(
                    kind="gap",
                    severity="error",
                    message=f"{who}: {hours:g} h missing, {panel.short(start)}..{panel.short(start + length - 1)}",
                    series=None
                    if who == "all series"
                    else (names[0] if len(names) == 1 else ",".join(names)),
                    start=panel.iso(start),
                    end=panel.iso(start + length - 1),
                    count=int(length) * len(names),
                )
            )
    return out


def find_negative(panel: RegularSeries) -> tuple[list[Finding], Runs]:
    r = runs(panel.x < 0)
    return summarise_runs(panel, "negative", "error", "runs of negative values", *r), r


def find_non_finite(panel: RegularSeries) -> tuple[list[Finding], Runs]:
    r = runs(np.isinf(panel.x))
    return summarise_runs(panel, "non_finite", "error", "runs of infinite values", *r), r


def find_out_of_range(
    panel: RegularSeries, low: float, high: float, kind: str, units: str
) -> tuple[list[Finding], Runs]:
    with np.errstate(invalid="ignore"):
        mask = (panel.x < low) | (panel.x > high)
    mask &= np.isfinite(panel.x)
    r = runs(mask)
    return summarise_runs(panel, kind, "error", f"runs of values outside [{low:g}, {high:g}] {units}", *r), r


def find_flatlines(
    panel: RegularSeries,
    min_hours: float,
    *,
    zero_min_hours: float | None = None,
    night_max_hours: float = 18.0,
    nightly_zero_day_fraction: float = 0.5,
    hold_steps: int = 1,
) -> tuple[list[Finding], Runs]:
    """Constant runs lasting at least ``min_hours`` (non-zero values) or ``zero_min_hours`` (zeros).

    ``hold_steps``: data disaggregated from a coarser step repeat each value over this many grid
    steps by construction (daily -> hourly: 24); only a run longer than that, i.e. a value
    constant across coarse intervals, counts.

    Zero rule: a series that is zero on at least ``nightly_zero_day_fraction`` of its days behaves
    like solar generation (zero every night); its zero runs up to ``night_max_hours`` are nights,
    not faults, and are not flagged. Longer zero runs (a week of snow cover, an outage) still are.
    Returns the findings and the flagged runs (flatlines and zero flatlines together).
    """
    x = panel.x
    same = np.zeros(x.shape, dtype=bool)
    same[:, 1:] = x[:, 1:] == x[:, :-1]
    s, a, n = runs(same)
    a, n = a - 1, n + 1  # a run of k "equal to previous" marks k+1 equal values
    is_zero = x[s, a] == 0
    held = n <= hold_steps  # constant within one coarse interval: the disaggregation, not a fault
    flat = ~is_zero & (n >= panel.steps(min_hours)) & ~held
    findings = summarise_runs(
        panel, "flatline", "warning", f"constant runs >= {min_hours:g} h", s[flat], a[flat], n[flat]
    )
    keep = flat
    if zero_min_hours is not None:
        zeros = is_zero & (n >= panel.steps(zero_min_hours)) & ~held
        day = np.asarray((panel.time - panel.time[0]) // pd.Timedelta(days=1))
        zero_days = np.zeros((x.shape[0], int(day[-1]) + 1), dtype=bool)
        zs, zt = np.nonzero(x == 0)
        zero_days[zs, day[zt]] = True
        nightly = zero_days.mean(axis=1) >= nightly_zero_day_fraction
        zeros &= ~(nightly[s] & (n <= panel.steps(night_max_hours)))
        what = f"zero runs >= {zero_min_hours:g} h"
        findings += summarise_runs(panel, "zero_flatline", "warning", what, s[zeros], a[zeros], n[zeros])
        keep = flat | zeros
    return findings, (s[keep], a[keep], n[keep])


def find_outliers(
    panel: RegularSeries, z_max: float, spike_ratio: float, half_window: int
) -> tuple[list[Finding], Runs]:
    """Spikes: points far from the median of their ``2 * half_window`` neighbours.

    ``r_t = x_t - median(x_{t-k..t+k} without x_t)``; the robust z-score is
    ``z = r_t / (1.4826 * MAD(r))`` per series (MAD over points that are not zero with zero
    neighbours, so nightly zeros do not shrink the scale). A point is a spike when ``|z| > z_max``
    **and** ``|r_t| > spike_ratio * (max - min of its neighbours)``: the neighbours agree with each
    other and the point does not, which keeps ramps, steps and multi-hour events out.
    """
    x = panel.x
    n_series, t_len = x.shape
    k = half_window
    mask = np.zeros(x.shape, dtype=bool)
    for b in range(0, n_series, BLOCK):
        xb = x[b : b + BLOCK]
        padded = np.full((xb.shape[0], t_len + 2 * k), np.nan)
        padded[:, k : k + t_len] = xb
        neigh = [padded[:, k + o : k + o + t_len] for o in range(-k, k + 1) if o != 0]
        hi = neigh[0].copy()
        lo = neigh[0].copy()
        total = neigh[0].copy()
        for other in neigh[1:]:  # 2k neighbours, each a whole-block array operation
            np.maximum(hi, other, out=hi)
            np.minimum(lo, other, out=lo)
            total += other
        if k == 2:  # median of four values without sorting: drop the largest and the smallest
            total -= hi
            total -= lo
            med = np.multiply(total, 0.5, out=total)
        else:
            med = np.median(np.stack(neigh), axis=0)
        spread = np.subtract(hi, lo, out=hi)
        del neigh, padded, lo
        absr = np.abs(xb - med)
        # robust scale from at most ~8,760 points per series (a year of hours is plenty)
        stride = max(1, t_len // 8760)
        scale_in = np.where((xb[:, ::stride] == 0) & (med[:, ::stride] == 0), np.nan, absr[:, ::stride])
        scale = MAD_TO_SIGMA * nanmedian_rows(scale_in)
        del scale_in
        with np.errstate(invalid="ignore", divide="ignore"):
            spread *= spike_ratio
            mask[b : b + BLOCK] = (absr > z_max * scale[:, None]) & (absr > spread) & (scale[:, None] > 0)
    r = runs(mask)
    return summarise_runs(panel, "outlier", "warning", f"spikes with robust |z| > {z_max:g}", *r), r


def find_low_completeness(panel: RegularSeries, min_fraction: float) -> list[Finding]:
    """Series with no values at all (error, blocking) or fewer than ``min_fraction`` present."""
    frac = np.mean(~np.isnan(panel.x), axis=1)
    out = []
    for j in np.flatnonzero(frac == 0):
        out.append(
            Finding(
                kind="empty_series",
                severity="error",
                message=f"{panel.names[j]} has no values at all (every value is missing)",
                series=panel.names[j],
                start=panel.iso(0),
                end=panel.iso(len(panel.time) - 1),
                count=len(panel.time),
            )
        )
    for j in np.flatnonzero((frac > 0) & (frac < min_fraction)):
        out.append(
            Finding(
                kind="low_completeness",
                severity="warning",
                message=f"{panel.names[j]} is {100 * frac[j]:.1f} % complete (< {100 * min_fraction:g} %)",
                series=panel.names[j],
                count=int(np.sum(np.isnan(panel.x[j]))),
            )
        )
    return out


def find_identical(panel: RegularSeries) -> list[Finding]:
    """Series that repeat another series exactly (same values, same missing points).

    Columns are grouped by a cheap signature (sums and NaN count) and candidates confirmed with
    an exact comparison, so the cost is linear in the number of series.
    """
    x = panel.x
    valid = ~np.isnan(x)
    z = np.where(valid, x, 0.0)
    ramp = np.linspace(1.0, 2.0, x.shape[1])
    sig = pd.DataFrame({"n": valid.sum(axis=1), "s1": z.sum(axis=1), "s2": z @ ramp})
    del z
    with np.errstate(invalid="ignore"):
        distinct = np.asarray(np.fmax.reduce(x, axis=1) > np.fmin.reduce(x, axis=1))
    out = []
    for _, grp in sig[distinct].groupby(["n", "s1", "s2"], sort=False):
        cols = grp.index.to_numpy()
        if len(cols) < 2:
            continue
        first = cols[0]
        twins = [c for c in cols[1:] if np.array_equal(x[first], x[c], equal_nan=True)]
        for c in twins:
            out.append(
                Finding(
                    kind="identical_series",
                    severity="warning",
                    message=f"{panel.names[c]} is identical to {panel.names[first]} (every value); "
                    "one is probably a copy",
                    series=panel.names[c],
                    count=int(valid[c].sum()),
                )
            )
    return out


def find_level_shifts(
    panel: RegularSeries, ratio: float, window_days: int, common_mode: bool
) -> list[Finding]:
    """Persistent level changes: the median daily mean over the ``window_days`` from a day on
    differs from the median over the ``window_days`` before it by more than a factor ``ratio``.

    With ``common_mode`` and at least 3 series, each series' daily means (normalised by their own
    median) are first divided by the cross-series median, which removes the weather and season
    shared by all series and leaves what is particular to one series. Days without data carry the
    last level forward.
    """
    w = window_days
    day_no = np.asarray((panel.time - panel.time[0].normalize()) // pd.Timedelta(days=1))
    bounds = np.flatnonzero(np.r_[True, day_no[1:] != day_no[:-1]])
    if len(bounds) < 2 * w + 1:
        return []
    valid = ~np.isnan(panel.x)
    sums = np.add.reduceat(np.where(valid, panel.x, 0.0), bounds, axis=1)
    counts = np.add.reduceat(valid, bounds, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN series / days: NaN levels
        level = np.where(counts > 0, sums / counts, np.nan)  # (series, day)
        level /= np.nanmedian(level, axis=1)[:, None]
        if common_mode and level.shape[0] >= 3:
            level /= np.nanmedian(level, axis=0)[None, :]
    level[~(level > 0)] = np.nan
    level = pd.DataFrame(level.T).ffill().bfill().to_numpy().T
    jump = np.zeros((level.shape[0], level.shape[1] - 2 * w + 1))
    for b in range(0, level.shape[0], BLOCK):  # bounds the (series, windows, w) temporary
        med = np.median(np.lib.stride_tricks.sliding_window_view(level[b : b + BLOCK], w, axis=1), axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            jump[b : b + BLOCK] = np.log(med[:, w:] / med[:, :-w])  # window from day j+w vs the w days before
    absjump = np.where(np.isnan(jump), 0.0, np.abs(jump))
    days = pd.DatetimeIndex(panel.time[bounds]).normalize()
    out = []
    for j in np.flatnonzero((absjump > np.log(ratio)).any(axis=1)):
        i = int(np.argmax(absjump[j]))
        at = pd.Timestamp(days[i + w])
        out.append(
            Finding(
                kind="level_shift",
                severity="warning",
                message=f"{panel.names[j]}: level changes by a factor {float(np.exp(jump[j, i])):.2f} around "
                f"{at.date()} (median daily mean of {w} days from then vs the {w} days before)",
                series=panel.names[j],
                start=at.isoformat(),
            )
        )
    return out


def find_dst_transitions(time: pd.DatetimeIndex, tz: str, repeats: int) -> list[Finding]:
    """Clock changes of the source time zone inside the data's span (info: the reader converted them)."""
    if tz.upper() == "UTC" or len(time) == 0:
        return []
    hours = pd.date_range(time[0].floor("h"), time[-1], freq="h")
    offset = np.asarray(
        (hours.tz_localize("UTC").tz_convert(tz).tz_localize(None) - hours) / pd.Timedelta(minutes=1)
    )
    changes = np.flatnonzero(offset[1:] != offset[:-1]) + 1
    out = []
    for i in changes:
        before, after = offset[i - 1] / 60, offset[i] / 60
        what = (
            "spring forward (a local hour is skipped)"
            if after > before
            else "fall back (a local hour repeats)"
        )
        out.append(
            Finding(
                kind="dst_transition",
                severity="info",
                message=f"{tz}: {what} at {pd.Timestamp(hours[int(i)]).isoformat()} UTC "
                f"(UTC{before:+g}h -> UTC{after:+g}h); converted to UTC on reading, no gap or duplicate results",
                start=pd.Timestamp(hours[int(i)]).isoformat(),
            )
        )
    if repeats:
        out.append(
            Finding(
                kind="dst_transition",
                severity="info",
                message=f"{repeats} timestamps in repeated fall-back hours were resolved by order "
                "(first occurrence summer time, second standard time)",
                count=repeats,
            )
        )
    return out
