"""Reading one quantile level (the median, a risk quantile) off a quantile forecast.

Every consumer of a quantile forecast (dispatch, restoration, feeder health, the day-ahead
job and its report) picks levels through these functions, so all of them agree on what "the
0.9 quantile" of a forecast that holds other levels means:

* a level the forecast holds (within :func:`numpy.isclose`) is returned exactly, untouched;
* a level between two held levels ``q_lo < q < q_hi`` is interpolated linearly::

      v(q) = (1 - w) v(q_lo) + w v(q_hi),   w = (q - q_lo) / (q_hi - q_lo)

* a level outside the held range takes the nearest end level (no extrapolation: an
  extrapolated quantile can cross its neighbours or leave the physical range).

The median is always held by gridai's own forecasts (``ForecastConfig`` requires 0.5), so for
them :func:`median_of` is an exact column pick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

MEDIAN = 0.5


def bracket(levels: Sequence[float] | np.ndarray, q: float) -> tuple[int, int, float]:
    """Positions ``(lo, hi)`` in ``levels`` and the weight ``w`` of ``hi`` that give level ``q``.

    ``levels`` need not be sorted. ``w == 0`` (and ``lo == hi``) when ``q`` is held or lies
    outside the held range (then ``lo`` is the nearest end level).

    Raises
    ------
    ValueError
        ``levels`` is empty.
    """
    lv = np.asarray(levels, dtype=float).ravel()
    if lv.size == 0:
        raise ValueError("a quantile forecast needs at least one level")
    hit = np.flatnonzero(np.isclose(lv, q))
    if len(hit):
        return int(hit[0]), int(hit[0]), 0.0
    order = np.argsort(lv, kind="stable")
    srt = lv[order]
    if q <= srt[0]:
        return int(order[0]), int(order[0]), 0.0
    if q >= srt[-1]:
        return int(order[-1]), int(order[-1]), 0.0
    k = int(np.searchsorted(srt, q))
    lo, hi = int(order[k - 1]), int(order[k])
    return lo, hi, float((q - lv[lo]) / (lv[hi] - lv[lo]))


def quantile_at(values: Any, levels: Sequence[float] | np.ndarray, q: float, axis: int = -1) -> np.ndarray:
    """Level ``q`` of ``values`` whose ``axis`` runs over quantile ``levels`` (that axis removed).

    Parameters
    ----------
    values:
        Array-like of forecast values (any units), ``len(levels)`` along ``axis``.
    levels:
        Quantile levels of ``values`` along ``axis``, in (0, 1), any order.
    q:
        The level wanted, in (0, 1): exact if held, else linear between the neighbouring levels,
        else the nearest end level.
    """
    v = np.asarray(values, dtype=float)
    if v.shape[axis] != len(np.atleast_1d(levels)):
        raise ValueError(f"values have {v.shape[axis]} quantiles on axis {axis}, levels {len(levels)}")
    lo, hi, w = bracket(levels, q)
    a = np.take(v, lo, axis=axis)
    if w == 0.0:
        return a
    return (1 - w) * a + w * np.take(v, hi, axis=axis)


def median_of(values: Any, levels: Sequence[float] | np.ndarray, axis: int = -1) -> np.ndarray:
    """The median (level 0.5) of ``values`` along the quantile ``axis``; see :func:`quantile_at`."""
    return quantile_at(values, levels, MEDIAN, axis=axis)


def quantile_da(da: xr.DataArray, q: float, dim: str = "quantile") -> xr.DataArray:
    """Level ``q`` of a forecast ``DataArray`` along ``dim`` (the dimension and its coordinate dropped)."""
    lo, hi, w = bracket(da[dim].values, q)
    a = da.isel({dim: lo}, drop=True)
    if w == 0.0:
        return a
    return (1 - w) * a + w * da.isel({dim: hi}, drop=True)


def median_path(da: xr.DataArray) -> np.ndarray:
    """The median path ``(time,)`` of a ``(time, quantile)`` forecast as an array."""
    return np.asarray(quantile_da(da.transpose("time", "quantile"), MEDIAN).values, dtype=float)


def quantile_column(frame: pd.DataFrame, q: float) -> pd.Series:
    """Level ``q`` of a forecast frame whose columns are quantile levels (numbers or numeric strings).

    A held level is the frame's own column (same name); an interpolated one is named ``q``.
    """
    cols = list(frame.columns)
    lo, hi, w = bracket([float(c) for c in cols], q)
    a = frame[cols[lo]]
    if w == 0.0:
        return a
    return ((1 - w) * a + w * frame[cols[hi]]).rename(q)
