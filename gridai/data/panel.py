"""The array the quality checks work on: values on a regular grid, series-major, and their runs.

Checks see a :class:`RegularSeries`: a ``(series, time)`` C-contiguous float array (one row per series,
so every scan along time is a contiguous one), the regular time grid, and the series names.
Runs of points (gaps, flatlines, spikes) are found for all series at once by :func:`runs` and
turned into findings by :func:`summarise_runs`; nothing loops over timestamps in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridai.exceptions import Finding

# How many spans a finding's message lists.
SHOW = 5


@dataclass
class RegularSeries:
    """Values on a regular time grid.

    Attributes
    ----------
    x:
        ``(series, time)`` float array, C-contiguous; NaN where missing (including grid
        timestamps absent from the input).
    time:
        Regular naive-UTC interval starts.
    names:
        Series (or station) names, one per row of ``x``.
    step:
        Grid step.
    """

    x: np.ndarray
    time: pd.DatetimeIndex
    names: list[str]
    step: pd.Timedelta

    def steps(self, hours: float) -> int:
        """Number of grid steps in ``hours`` (at least 1)."""
        return max(1, int(round(pd.Timedelta(hours=hours) / self.step)))

    def iso(self, i: int) -> str:
        """ISO timestamp of grid position ``i`` (for Finding.start/end)."""
        return pd.Timestamp(self.time[int(i)]).isoformat()

    def short(self, i: int) -> str:
        """Compact timestamp of grid position ``i`` (for messages)."""
        return pd.Timestamp(self.time[int(i)]).strftime("%Y-%m-%d %H:%M")

    def with_values(self, x: np.ndarray) -> RegularSeries:
        return RegularSeries(x, self.time, self.names, self.step)


Runs = tuple[np.ndarray, np.ndarray, np.ndarray]
NO_RUNS: Runs = (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))


def runs(mask: np.ndarray) -> Runs:
    """Runs of True along the time axis of a ``(series, time)`` mask.

    Returns
    -------
    series, start, length:
        One entry per run, ordered by series then start.
    """
    if not mask.any():
        return NO_RUNS
    starts = mask.copy()
    starts[:, 1:] &= ~mask[:, :-1]
    ends = mask.copy()
    ends[:, :-1] &= ~mask[:, 1:]
    s, a = np.nonzero(starts)  # row-major: ordered by series, then time
    _, e = np.nonzero(ends)
    return s, a, e - a + 1


def run_points(
    series: np.ndarray, start: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every point of the given runs: ``(series, time, run index)``."""
    rep = np.repeat(np.arange(len(length)), length)
    offsets = np.arange(rep.size) - np.repeat(np.cumsum(length) - length, length)
    return series[rep], start[rep] + offsets, rep


def run_mask(shape: tuple[int, int], series: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Boolean ``(series, time)`` mask of the given runs (the inverse of :func:`runs`)."""
    out = np.zeros(shape, dtype=bool)
    s, t, _ = run_points(series, start, length)
    out[s, t] = True
    return out


def nanmedian_rows(a: np.ndarray) -> np.ndarray:
    """Median of each row ignoring NaN, in O(n) by partitioning (NaN for rows with < 3 values).

    A row's ``m`` NaNs are replaced by ``m // 2`` times ``-inf`` and the rest ``+inf``, which
    leaves the middle of the row where the median of its valid values is; with an odd ``m``
    the result is off by half a rank (immaterial for a robust scale).
    """
    b = a.copy()
    nan = np.isnan(b)
    m = nan.sum(axis=1)
    low = nan & (np.cumsum(nan, axis=1) <= (m // 2)[:, None])
    b[low] = -np.inf
    b[nan & ~low] = np.inf
    n = b.shape[1]
    part = np.partition(b, [(n - 1) // 2, n // 2], axis=1)
    with np.errstate(invalid="ignore"):
        med = 0.5 * (part[:, (n - 1) // 2] + part[:, n // 2])
    return np.where(n - m >= 3, med, np.nan)


def _spans_text(panel: RegularSeries, start: np.ndarray, length: np.ndarray) -> str:
    shown = [
        panel.short(a) if n == 1 else f"{panel.short(a)}..{panel.short(a + n - 1)}"
        for a, n in zip(start[:SHOW], length[:SHOW], strict=True)
    ]
    more = f" (+{len(start) - SHOW} more)" if len(start) > SHOW else ""
    return ", ".join(shown) + more


def summarise_runs(
    panel: RegularSeries,
    kind: str,
    severity: str,
    what: str,
    series: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
) -> list[Finding]:
    """One finding per series (or one for all series when every series has the same runs).

    ``series``/``start``/``length`` must be ordered by series then start (as :func:`runs` gives).
    """
    if len(length) == 0:
        return []
    n_series = len(panel.names)
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
                    count=int(length[:k].sum()) * n_series,
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
