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


def median_path(da: xr.DataArray) -> np.ndarray:
    """The median path of a ``(time, quantile)`` forecast (interpolated when 0.5 is absent)."""
    levels = np.asarray(da["quantile"].values, dtype=float)
    if np.any(np.isclose(levels, 0.5)):
        return np.asarray(da.sel(quantile=levels[np.isclose(levels, 0.5)][0]).values, dtype=float)
    if len(levels) == 1:
        return np.asarray(da.isel(quantile=0).values, dtype=float)
    order = np.argsort(levels)
    vals = np.asarray(da.transpose("time", "quantile").values, dtype=float)[:, order]
    return np.array([np.interp(0.5, levels[order], row) for row in vals])


def scenario_paths(
    da: xr.DataArray, levels: Sequence[float] | None, mode: str
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Load paths ``(S, T)``, weights ``(S,)`` and levels for ``mode`` ``deterministic``/``scenario``."""
    if mode == "deterministic":
        return median_path(da)[None, :], np.ones(1), [0.5]
    have = np.asarray(da["quantile"].values, dtype=float)
    chosen = sorted(have.tolist()) if levels is None else sorted(levels)
    missing = [q for q in chosen if not np.any(np.isclose(have, q))]
    if missing:
        raise GridAIDataError(
            f"scenario quantiles {missing} are not in the forecast (it has {sorted(have.tolist())})",
            series=str(da.coords["series"].values) if "series" in da.coords else None,
        )
    paths = np.stack(
        [np.asarray(da.sel(quantile=have[np.isclose(have, q)][0]).values, dtype=float) for q in chosen]
    )
    # quantile crossing would make a "high" scenario lower than a "low" one: sort per interval
    paths = np.sort(paths, axis=0)
    return paths, midpoint_weights(chosen), chosen


def scenario_spread(costs: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Expected cost, standard deviation and range of per-scenario costs [currency]."""
    mean = float(np.dot(w, costs))
    return {
        "expected": mean,
        "std": float(np.sqrt(np.dot(w, (costs - mean) ** 2))),
        "min": float(costs.min()),
        "max": float(costs.max()),
    }
