"""Scenarios from quantile forecasts, and the scenario cost summary.

Quantile-based scenarios: each chosen quantile level ``q_k`` of the forecast becomes one load
path (the whole horizon at that level: comonotone, which keeps the peak-risk of a high day
together), weighted by the probability mass nearest to it (midpoint rule)::

    w_k = (q_{k+1} + q_k) / 2 - (q_k + q_{k-1}) / 2,   with q_0 := -q_1 and q_{K+1} := 2 - q_K

so the weights sum to one (e.g. levels 0.1, 0.5, 0.9 -> 0.3, 0.4, 0.3). Deterministic
dispatch uses the median (0.5; interpolated when absent) with weight one.

Comonotone paths sort every interval, so where the quantile spread is similar all day each path
is the median shifted by a constant and carries no uncertainty about *when* the peak comes.
Sampled scenarios (:func:`copula_paths`, the default of scenario dispatch) draw paths from the
quantile forecast with a Gaussian copula whose normal scores follow an AR(1) over the intervals
(correlation ``rho ** |i - j|``), so paths differ in shape, not only in level; equal weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtri

from gridai.exceptions import GridAIDataError
from gridai.forecast.quantiles import median_of


def midpoint_weights(levels: Sequence[float]) -> np.ndarray:
    """Probability weights of quantile levels by the midpoint rule (sum to 1)."""
    q = np.asarray(sorted(levels), dtype=float)
    if len(q) == 1:
        return np.ones(1)
    edges = np.concatenate([[0.0], (q[1:] + q[:-1]) / 2, [1.0]])
    return np.diff(edges)


def select_levels(
    levels: np.ndarray, chosen: Sequence[float] | None, series: str = ""
) -> tuple[list[float], list[int]]:
    """The ``chosen`` levels (default all), sorted, and their columns in ``levels``; missing ones raise."""
    have = np.asarray(levels, dtype=float)
    pick = sorted(have.tolist()) if chosen is None else sorted(chosen)
    missing = [q for q in pick if not np.any(np.isclose(have, q))]
    if missing:
        raise GridAIDataError(
            f"scenario quantiles {missing} are not in the forecast (it has {sorted(have.tolist())})",
            series=series or None,
        )
    return pick, [int(np.flatnonzero(np.isclose(have, q))[0]) for q in pick]


def scenario_paths(
    values: np.ndarray, levels: np.ndarray, chosen: Sequence[float] | None, mode: str, series: str = ""
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Load paths ``(S, T)``, weights ``(S,)`` and levels from a ``(T, Q)`` quantile forecast.

    ``mode`` ``deterministic``: the median with weight 1; ``scenario``: the ``chosen`` levels
    (default all) with midpoint weights.
    """
    if mode == "deterministic":
        return median_of(values, levels)[None, :], np.ones(1), [0.5]
    pick, cols = select_levels(levels, chosen, series)
    # quantile crossing would make a "high" scenario lower than a "low" one: sort per interval
    paths = np.sort(np.asarray(values, dtype=float)[:, cols].T, axis=0)
    return paths, midpoint_weights(pick), pick


def ar1_normal_scores(rng: np.random.Generator, shape: tuple[int, ...], rho: float) -> np.ndarray:
    """Standard-normal scores ``shape = (..., T)``, correlation ``rho ** |i - j|`` along the last axis.

    Stationary AR(1): ``z[0] = e[0]``, ``z[t] = rho z[t-1] + sqrt(1 - rho^2) e[t]`` with ``e``
    i.i.d. standard normal, run as one linear filter over every leading index (vectorised).
    ``rho = 1`` gives one score per path (comonotone), ``rho = 0`` independent intervals.
    """
    if not -1.0 <= rho <= 1.0:
        raise ValueError(f"rho must lie in [-1, 1], got {rho}")
    e = rng.standard_normal(shape)
    if shape[-1] <= 1:
        return e
    z0 = e[..., :1]
    c = float(np.sqrt(1.0 - rho**2))
    rest = lfilter([c], [1.0, -rho], e[..., 1:], axis=-1, zi=rho * z0)[0]
    return np.concatenate([z0, rest], axis=-1)


def quantile_at_scores(
    values: np.ndarray, levels: np.ndarray, z: np.ndarray, tails: str = "linear"
) -> np.ndarray:
    """Evaluate per-interval quantile functions at normal scores ``z``.

    ``values`` ``(..., T, K)`` forecast quantiles at increasing ``levels`` ``(K,)``; ``z``
    ``(S, ..., T)``. The inverse CDF is interpolated linearly in the normal score
    ``ndtri(level)`` between the given levels (exact at the levels; exact everywhere for a
    Gaussian forecast). Beyond the outermost levels ``tails="linear"`` continues the outer
    segment (a Gaussian-shaped, unbounded tail: levels 0.1 / 0.9 with spread ``d`` behave like a
    normal with sigma ``d / 1.2816``); ``tails="flat"`` holds the outermost quantile (no mass
    beyond it). With one level every score gives that value.
    """
    vals = np.asarray(values, dtype=float)
    zk = ndtri(np.asarray(levels, dtype=float))
    if len(zk) == 1:
        return np.broadcast_to(vals[..., 0], z.shape).copy()
    if tails == "flat":
        z = np.clip(z, zk[0], zk[-1])
    elif tails != "linear":
        raise ValueError(f"tails must be 'linear' or 'flat', got {tails!r}")
    k = np.clip(np.searchsorted(zk, z) - 1, 0, len(zk) - 2)
    full = np.broadcast_to(vals, z.shape + vals.shape[-1:])
    lo = np.take_along_axis(full, k[..., None], -1)[..., 0]
    hi = np.take_along_axis(full, k[..., None] + 1, -1)[..., 0]
    w = (z - zk[k]) / (zk[k + 1] - zk[k])
    return lo + w * (hi - lo)


def copula_paths(
    values: np.ndarray,
    levels: np.ndarray,
    n_scenarios: int,
    *,
    rho: float = 0.9,
    seed: int = 0,
    tails: str = "linear",
) -> tuple[np.ndarray, np.ndarray]:
    """Load paths sampled from quantile forecasts with a Gaussian copula, and their weights.

    Parameters
    ----------
    values:
        Forecast quantiles ``(F, T, K)`` (or ``(T, K)`` for one series) [kW].
    levels:
        Quantile levels ``(K,)`` in (0, 1) of the last axis (any order; sorted here).
    n_scenarios:
        Number of paths ``S`` drawn per series.
    rho:
        Correlation of the normal scores of neighbouring intervals (AR(1): ``rho ** lag``).
        Series are drawn independently of each other.
    seed:
        Seed of ``numpy.random.default_rng``; the same seed gives the same paths.
    tails:
        Beyond the outer levels: ``linear`` (continue the outer segment) or ``flat``; see
        :func:`quantile_at_scores`.

    Returns
    -------
    paths, weights
        ``(S, F, T)`` (``(S, T)`` for a 2-D input) [kW] and equal weights ``1 / S``. Quantile
        crossing is removed first by sorting the quantiles of each interval. Where an interval's
        lowest quantile is non-negative the paths are clipped at 0 (a linear tail must not make a
        non-negative load negative); net loads with negative quantiles are left as drawn.

    References
    ----------
    Pinson, P., Madsen, H., Nielsen, H. A., Papaefthymiou, G., Klöckl, B. (2009). From
    probabilistic forecasts to statistical scenarios of short-term wind power production.
    Wind Energy 12(1), 51-62.
    """
    if n_scenarios < 1:
        raise ValueError(f"n_scenarios must be at least 1, got {n_scenarios}")
    lv = np.asarray(levels, dtype=float)
    if np.any((lv <= 0) | (lv >= 1)):
        raise ValueError(f"quantile levels must lie in (0, 1), got {lv.tolist()}")
    vals = np.asarray(values, dtype=float)
    one = vals.ndim == 2
    if one:
        vals = vals[None]
    order = np.argsort(lv)
    vals = np.sort(vals[..., order], axis=-1)  # sorted levels, and no quantile crossing
    z = ar1_normal_scores(np.random.default_rng(seed), (n_scenarios, *vals.shape[:2]), rho)
    paths = quantile_at_scores(vals, lv[order], z, tails)
    paths = np.where(vals[..., 0] >= 0, np.maximum(paths, 0.0), paths)
    return (paths[:, 0] if one else paths), np.full(n_scenarios, 1.0 / n_scenarios)


def scenario_spread(costs: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Expected cost, standard deviation and range of per-scenario costs [currency]."""
    mean = float(np.dot(w, costs))
    return {
        "expected": mean,
        "std": float(np.sqrt(np.dot(w, (costs - mean) ** 2))),
        "min": float(costs.min()),
        "max": float(costs.max()),
    }
