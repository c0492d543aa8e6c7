"""Scenarios from quantile forecasts, and the scenario cost summary.

Quantile-based scenarios: each chosen quantile level ``q_k`` of the forecast becomes one load
path (the whole horizon at that level: comonotone, which keeps the peak-risk of a high day
together), weighted by the probability mass nearest to it (midpoint rule)::

    w_k = (q_{k+1} + q_k) / 2 - (q_k + q_{k-1}) / 2,   with q_0 := -q_1 and q_{K+1} := 2 - q_K

so the weights sum to one (e.g. levels 0.1, 0.5, 0.9 -> 0.3, 0.4, 0.3). Deterministic
dispatch uses the median (0.5; interpolated when absent) with weight one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from gridai.exceptions import GridAIDataError


def midpoint_weights(levels: Sequence[float]) -> np.ndarray:
    """Probability weights of quantile levels by the midpoint rule (sum to 1)."""
    q = np.asarray(sorted(levels), dtype=float)
    if len(q) == 1:
        return np.ones(1)
    edges = np.concatenate([[0.0], (q[1:] + q[:-1]) / 2, [1.0]])
    return np.diff(edges)


def median_of(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Median path of ``values`` ``(..., T, Q)`` at quantile ``levels`` (linear interpolation when 0.5 is absent)."""
    levels = np.asarray(levels, dtype=float)
    hit = np.flatnonzero(np.isclose(levels, 0.5))
    if len(hit):
        return np.asarray(values[..., hit[0]], dtype=float)
    if len(levels) == 1:
        return np.asarray(values[..., 0], dtype=float)
    order = np.argsort(levels)
    lv, v = levels[order], np.asarray(values, dtype=float)[..., order]
    k = int(np.clip(np.searchsorted(lv, 0.5), 1, len(lv) - 1))
    w = (0.5 - lv[k - 1]) / (lv[k] - lv[k - 1])
    return (1 - w) * v[..., k - 1] + w * v[..., k]


def median_path(da: xr.DataArray) -> np.ndarray:
    """The median path of a ``(time, quantile)`` forecast (interpolated when 0.5 is absent)."""
    return median_of(da.transpose("time", "quantile").values, da["quantile"].values)


def scenario_paths(
    values: np.ndarray, levels: np.ndarray, chosen: Sequence[float] | None, mode: str, series: str = ""
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Load paths ``(S, T)``, weights ``(S,)`` and levels from a ``(T, Q)`` quantile forecast.

    ``mode`` ``deterministic``: the median with weight 1; ``scenario``: the ``chosen`` levels
    (default all) with midpoint weights.
    """
    if mode == "deterministic":
        return median_of(values, levels)[None, :], np.ones(1), [0.5]
    have = np.asarray(levels, dtype=float)
    pick = sorted(have.tolist()) if chosen is None else sorted(chosen)
    missing = [q for q in pick if not np.any(np.isclose(have, q))]
    if missing:
        raise GridAIDataError(
            f"scenario quantiles {missing} are not in the forecast (it has {sorted(have.tolist())})",
            series=series or None,
        )
    cols = [int(np.flatnonzero(np.isclose(have, q))[0]) for q in pick]
    # quantile crossing would make a "high" scenario lower than a "low" one: sort per interval
    paths = np.sort(np.asarray(values, dtype=float)[:, cols].T, axis=0)
    return paths, midpoint_weights(pick), pick


def scenario_spread(costs: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Expected cost, standard deviation and range of per-scenario costs [currency]."""
    mean = float(np.dot(w, costs))
    return {
        "expected": mean,
        "std": float(np.sqrt(np.dot(w, (costs - mean) ** 2))),
        "min": float(costs.min()),
        "max": float(costs.max()),
    }
