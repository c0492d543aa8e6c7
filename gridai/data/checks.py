"""Vectorised quality detectors over a ``(time, series)`` array.

Each detector takes a :class:`Panel` (values on a regular time grid) and returns findings and,
where cleaning can act on them, a boolean ``(time, series)`` mask of the points concerned.
No detector loops over timestamps in Python; run-length work is done by :func:`runs`.
:mod:`gridai.data.validation` strings them together and applies the strict/log policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
# How many spans a finding's message lists.
SHOW = 5
# Series per block in the outlier detector: bounds its temporary memory (4 x T x block floats).
BLOCK = 256
# Consistency constant of the median absolute deviation for normally distributed noise.
MAD_TO_SIGMA = 1.4826


@dataclass
class Panel:
    """Values on a regular time grid.

    Attributes
    ----------
    values:
        ``(time, series)`` float array; NaN where missing (including inserted grid rows).
    time:
        Regular naive-UTC interval starts.
    names:
        Series (or station) names.
    step:
        Grid step.
    present:
        ``(time,)`` whether the timestamp was in the input (False for inserted grid rows).
    """

    values: np.ndarray
    time: pd.DatetimeIndex
    names: list[str]
    step: pd.Timedelta

    present: np.ndarray

    def steps(self, hours: float) -> int:
        """Number of grid steps in ``hours`` (at least 1)."""
        return max(1, int(round(pd.Timedelta(hours=hours) / self.step)))

    def iso(self, i: int) -> str:
        """ISO timestamp of grid position ``i`` (for Finding.start/end)."""
        return pd.Timestamp(self.time[int(i)]).isoformat()

    def short(self, i: int) -> str:
        """Compact timestamp of grid position ``i`` (for messages)."""
        return pd.Timestamp(self.time[int(i)]).strftime("%Y-%m-%d %H:%M")


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True along axis 0 of a ``(time, series)`` mask.

    Returns
    -------
    series, start, length:
        One entry per run, ordered by series then start.
    """
    t, s = mask.shape
    padded = np.zeros((s, t + 2), dtype=np.int8)  # series-major, so runs come out per series
    padded[:, 1:-1] = mask.T
    edges = np.diff(padded, axis=1)
    s_start, t_start = np.nonzero(edges == 1)
    _, t_end = np.nonzero(edges == -1)
    return s_start, t_start, t_end - t_start


def run_mask(shape: tuple[int, int], series: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Boolean mask marking the given runs (inverse of :func:`runs`)."""
    out = np.zeros(shape, dtype=bool)
    if len(length) == 0:
        return out
    rep = np.repeat(np.arange(len(length)), length)
    offsets = np.arange(rep.size) - np.repeat(np.cumsum(length) - length, length)
    out[start[rep] + offsets, series[rep]] = True
    return out


def nanmedian0(a: np.ndarray) -> np.ndarray:
    """Median over axis 0 ignoring NaN, by sorting (NaN sort last); NaN for all-NaN columns."""
    srt = np.sort(a, axis=0)
    n = np.sum(~np.isnan(a), axis=0)
    cols = np.arange(a.shape[1])
    lo = np.maximum((n - 1) // 2, 0)
    hi = np.maximum(n // 2, 0)
    med = 0.5 * (srt[lo, cols] + srt[hi, cols])
    return np.where(n > 0, med, np.nan)


def _spans_text(panel: Panel, start: np.ndarray, length: np.ndarray) -> str:
    shown = [
        panel.short(a) if n == 1 else f"{panel.short(a)}..{panel.short(a + n - 1)}"
        for a, n in zip(start[:SHOW], length[:SHOW], strict=True)
    ]
    more = f" (+{len(start) - SHOW} more)" if len(start) > SHOW else ""
    return ", ".join(shown) + more


def summarise_runs(
    panel: Panel,
    kind: str,
    severity: str,
    what: str,
    series: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
) -> list[Finding]:
    """One finding per series (or one for all series when every series has the same runs)."""
    if len(length) == 0:
        return []
    n_series = len(panel.names)
    order = np.lexsort((start, series))
    series, start, length = series[order], start[order], length[order]
    per = np.bincount(series, minlength=n_series)
    if n_series > 1 and (per == per[0]).all():
        k = per[0]
        same = (start.reshape(n_series, k) == start[:k]).all() and (
            length.reshape(n_series, k) == length[:k]
        ).all()
        if same:
            return [
                Finding(
                    kind=kind,
                    severity=severity,
                    message=f"all series: {k} {what} ({_spans_text(panel, start[:k], length[:k])})",
                    series=None,
                    start=panel.iso(start[0]),
                    end=panel.iso(start[k - 1] + length[k - 1] - 1),
                    count=int(length[:k].sum()),
                )
            ]
    out = []
    bounds = np.r_[0, np.cumsum(per)]
    for j in np.flatnonzero(per):
        a, b = bounds[j], bounds[j + 1]
        out.append(
            Finding(
                kind=kind,
                severity=severity,
                message=f"{panel.names[j]}: {b - a} {what} ({_spans_text(panel, start[a:b], length[a:b])})",
                series=panel.names[j],
                start=panel.iso(start[a]),
                end=panel.iso(start[b - 1] + length[b - 1] - 1),
                count=int(length[a:b].sum()),
            )
        )
    return out


def find_gaps(panel: Panel, error_hours: float) -> list[Finding]:
    """Runs of missing values (NaN or absent timestamps): each long run an error, short ones a warning."""
    s, a, n = runs(np.isnan(panel.values))
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


def find_negative(panel: Panel) -> tuple[list[Finding], np.ndarray]:
    mask = panel.values < 0
    s, a, n = runs(mask)
    return summarise_runs(panel, "negative", "error", "runs of negative values", s, a, n), mask


def find_non_finite(panel: Panel) -> tuple[list[Finding], np.ndarray]:
    mask = np.isinf(panel.values)
    s, a, n = runs(mask)
    return summarise_runs(panel, "non_finite", "error", "runs of infinite values", s, a, n), mask


def find_out_of_range(
    panel: Panel, low: float, high: float, kind: str, units: str
) -> tuple[list[Finding], np.ndarray]:
    with np.errstate(invalid="ignore"):
        mask = (panel.values < low) | (panel.values > high)
    mask &= np.isfinite(panel.values)
    s, a, n = runs(mask)
    what = f"runs of values outside [{low:g}, {high:g}] {units}"
    return summarise_runs(panel, kind, "error", what, s, a, n), mask


def find_flatlines(
    panel: Panel,
    min_hours: float,
    *,
    zero_min_hours: float | None = None,
    night_max_hours: float = 18.0,
    nightly_zero_day_fraction: float = 0.5,
) -> tuple[list[Finding], np.ndarray]:
    """Constant runs lasting at least ``min_hours`` (non-zero values) or ``zero_min_hours`` (zeros).

    Zero rule: a series that is zero on at least ``nightly_zero_day_fraction`` of its days behaves
    like solar generation (zero every night); its zero runs up to ``night_max_hours`` are nights,
    not faults, and are not flagged. Longer zero runs (a week of snow cover, an outage) still are.
    """
    x = panel.values
    same = np.zeros(x.shape, dtype=bool)
    same[1:] = x[1:] == x[:-1]
    s, a, n = runs(same)
    a, n = a - 1, n + 1  # a run of k "equal to previous" marks k+1 equal values
    value = x[a, s]
    is_zero = value == 0
    flat = ~is_zero & (n >= panel.steps(min_hours))
    findings = summarise_runs(
        panel, "flatline", "warning", f"constant runs >= {min_hours:g} h", s[flat], a[flat], n[flat]
    )
    mask = run_mask(x.shape, s[flat], a[flat], n[flat])
    if zero_min_hours is not None:
        zeros = is_zero & (n >= panel.steps(zero_min_hours))
        day = np.asarray((panel.time - panel.time[0]) // pd.Timedelta(days=1))
        n_days = int(day[-1]) + 1
        zero_days = np.zeros((n_days, x.shape[1]), dtype=bool)
        zr, zc = np.nonzero(x == 0)
        zero_days[day[zr], zc] = True
        nightly = zero_days.mean(axis=0) >= nightly_zero_day_fraction
        zeros &= ~(nightly[s] & (n <= panel.steps(night_max_hours)))
        what = f"zero runs >= {zero_min_hours:g} h"
        findings += summarise_runs(panel, "zero_flatline", "warning", what, s[zeros], a[zeros], n[zeros])
        mask |= run_mask(x.shape, s[zeros], a[zeros], n[zeros])
    return findings, mask


def find_outliers(
    panel: Panel, z_max: float, spike_ratio: float, half_window: int
) -> tuple[list[Finding], np.ndarray]:
    """Spikes: points far from the median of their ``2 * half_window`` neighbours.

    ``r_t = x_t - median(x_{t-k..t+k} without x_t)``; the robust z-score is
    ``z = r_t / (1.4826 * MAD(r))`` per series (MAD over points that are not zero with zero
    neighbours, so nightly zeros do not shrink the scale). A point is a spike when ``|z| > z_max``
    **and** ``|r_t| > spike_ratio * (max - min of its neighbours)``: the neighbours agree with each
    other and the point does not, which keeps ramps, steps and multi-hour events out.
    """
    x = panel.values
    t_len, n_series = x.shape
    k = half_window
    mask = np.zeros(x.shape, dtype=bool)
    for b in range(0, n_series, BLOCK):
        xb = x[:, b : b + BLOCK]
        padded = np.full((t_len + 2 * k, xb.shape[1]), np.nan)
        padded[k : k + t_len] = xb
        neigh = [padded[k + o : k + o + t_len] for o in range(-k, k + 1) if o != 0]
        hi = np.maximum.reduce(neigh)
        lo = np.minimum.reduce(neigh)
        spread = hi - lo
        # median of four values without sorting: drop the largest and the smallest
        med = (np.add.reduce(neigh) - hi - lo) / 2.0 if k == 2 else np.median(np.stack(neigh), axis=0)
        del neigh
        resid = xb - med
        absr = np.abs(resid)
        scale_in = np.where((xb == 0) & (med == 0), np.nan, absr)
        scale = MAD_TO_SIGMA * nanmedian0(scale_in)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = absr / scale
            mask[:, b : b + BLOCK] = (z > z_max) & (absr > spike_ratio * spread) & (scale > 0)
    s, a, n = runs(mask)
    return summarise_runs(panel, "outlier", "warning", f"spikes with robust |z| > {z_max:g}", s, a, n), mask


def find_low_completeness(panel: Panel, min_fraction: float) -> list[Finding]:
    """Series with no values at all (error, blocking) or fewer than ``min_fraction`` present."""
    frac = np.mean(~np.isnan(panel.values), axis=0)
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
                count=int(np.sum(np.isnan(panel.values[:, j]))),
            )
        )
    return out


def find_identical(panel: Panel) -> list[Finding]:
    """Series that repeat another series exactly (same values, same missing points).

    Columns are grouped by a cheap signature (sums and NaN count) and candidates confirmed with
    an exact comparison, so the cost is linear in the number of series.
    """
    x = panel.values
    valid = ~np.isnan(x)
    z = np.where(valid, x, 0.0)
    ramp = np.linspace(1.0, 2.0, x.shape[0])[:, None]
    sig = pd.DataFrame({"n": valid.sum(axis=0), "s1": z.sum(axis=0), "s2": (z * ramp).sum(axis=0)})
    with np.errstate(invalid="ignore"):
        distinct = np.asarray(
            np.nanmax(np.where(valid, x, -np.inf), axis=0) > np.nanmin(np.where(valid, x, np.inf), axis=0)
        )
    out = []
    for _, grp in sig[distinct].groupby(["n", "s1", "s2"], sort=False):
        cols = grp.index.to_numpy()
        if len(cols) < 2:
            continue
        first = cols[0]
        twins = [c for c in cols[1:] if np.array_equal(x[:, first], x[:, c], equal_nan=True)]
        for c in twins:
            out.append(
                Finding(
                    kind="identical_series",
                    severity="warning",
                    message=f"{panel.names[c]} is identical to {panel.names[first]} (every value); "
                    "one is probably a copy",
                    series=panel.names[c],
                    count=int(valid[:, c].sum()),
                )
            )
    return out


def find_level_shifts(panel: Panel, ratio: float, window_days: int, common_mode: bool) -> list[Finding]:
    """Persistent level changes: the median daily mean over ``window_days`` after a day differs
    from that before it by more than a factor ``ratio``.

    With ``common_mode`` and at least 3 series, each series' daily means are first divided by the
    cross-series median (of series normalised by their own median), which removes the weather
    and season shared by all series and leaves what is particular to one series.
    """
    frame = pd.DataFrame(panel.values, index=panel.time)
    daily = frame.resample("D").mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        level = daily / daily.median()
        if common_mode and level.shape[1] >= 3:
            level = level.div(level.median(axis=1), axis=0)
        level = level.where(level > 0)
        before = level.rolling(window_days, min_periods=window_days // 2).median()
        after = level[::-1].rolling(window_days, min_periods=window_days // 2).median()[::-1].shift(-1)
        jump = np.log(after.to_numpy() / before.to_numpy())
    out = []
    absjump = np.where(np.isnan(jump), 0.0, np.abs(jump))
    days = pd.DatetimeIndex(level.index)
    for j in np.flatnonzero((absjump > np.log(ratio)).any(axis=0)):
        i = int(np.argmax(absjump[:, j]))
        factor = float(np.exp(jump[i, j]))
        day = days[i]
        at = pd.Timestamp(day) + pd.Timedelta(days=1)
        out.append(
            Finding(
                kind="level_shift",
                severity="warning",
                message=f"{panel.names[j]}: level changes by a factor {factor:.2f} around {at.date()} "
                f"(median of {window_days} days after vs before)",
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
