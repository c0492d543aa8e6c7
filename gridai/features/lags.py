"""Load-history features that respect the issue time by construction.

Invariant: a forecast issued at time ``t_issue`` sees only intervals that *ended* at or
before ``t_issue``: on a regular grid starting at ``t0`` with step ``dt``, the first
unobserved interval has index ``floor((t_issue - t0) / dt)``, and every window is a slice
that ends (exclusive) at that index. No function here takes an index past it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def first_unobserved_index(
    issue_time: pd.Timestamp | np.ndarray, t0: pd.Timestamp, step: pd.Timedelta
) -> np.ndarray:
    """Index of the first interval not fully observed at ``issue_time`` (vectorised).

    An interval starting at ``t`` is observed when ``t + step <= issue_time``.
    """
    issue = pd.DatetimeIndex(np.atleast_1d(np.asarray(issue_time, dtype="datetime64[ns]")))
    return np.asarray(np.floor((issue - t0) / step), dtype=np.int64)


def history_windows(load: np.ndarray, end_index: np.ndarray, n_steps: int) -> np.ndarray:
    """Windows of the last ``n_steps`` observed intervals before each ``end_index`` (exclusive).

    Parameters
    ----------
    load:
        ``(time, series)`` on a regular grid [units of the load].
    end_index:
        ``(n,)`` first unobserved index for each window (:func:`first_unobserved_index`).
    n_steps:
        Window length [intervals].

    Returns
    -------
    numpy.ndarray
        ``(n, n_steps, series)``; positions before the start of the grid are NaN.
    """
    end = np.asarray(end_index, dtype=np.int64)
    idx = end[:, None] - n_steps + np.arange(n_steps)[None, :]
    valid = (idx >= 0) & (idx < load.shape[0])
    out = load[np.clip(idx, 0, load.shape[0] - 1)]
    out[~valid] = np.nan
    if np.any(idx >= end[:, None]):  # pragma: no cover - guarded by construction
        raise AssertionError("history window reaches past the issue time")
    return out


def fill_window_gaps(window: np.ndarray, period: int) -> np.ndarray:
    """Fill NaN in ``(n, steps, series)`` windows with the value one ``period`` earlier/later, then the mean."""
    out = window.copy()
    for shift in (period, -period):
        nan = ~np.isfinite(out)
        if not nan.any():
            break
        shifted = np.roll(out, shift, axis=1)
        out = np.where(nan, shifted, out)
    nan = ~np.isfinite(out)
    if nan.any():
        finite = np.isfinite(out)
        count = finite.sum(axis=1, keepdims=True)
        mean = np.where(finite, out, 0.0).sum(axis=1, keepdims=True) / np.maximum(count, 1)
        mean = np.where(count > 0, mean, np.nan)
        out = np.where(nan, np.broadcast_to(mean, out.shape), out)
    return out
