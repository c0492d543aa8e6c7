"""Hierarchical reconciliation: bottom-up, top-down (historical proportions) and MinT-shrink.

Every method is a projection ``P`` (leaves x nodes) applied to base forecasts of all nodes:
``reconciled = S @ P @ base`` is coherent (aggregates equal the sum of their leaves).

Quantiles: the median and the mean are reconciled with ``P``; every other quantile of a node
is shifted by the same amount as that node's median. The shift keeps quantiles non-crossing
and keeps each node's spread as forecast (quantiles of a sum are not sums of quantiles, so
only the median and the mean are required to be additive).

References
----------
Gross, C. W., & Sohl, J. E. (1990). Disaggregation methods to expedite product line
forecasting. Journal of Forecasting, 9(3), 233-254.
Wickramasuriya, S. L., Athanasopoulos, G., & Hyndman, R. J. (2019). Optimal forecast
reconciliation for hierarchical and grouped time series through trace minimization.
JASA, 114(526), 804-819.
Schäfer, J., & Strimmer, K. (2005). A shrinkage approach to large-scale covariance matrix
estimation. Statistical Applications in Genetics and Molecular Biology, 4(1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from gridai.forecast.panel import Hierarchy

logger = logging.getLogger(__name__)

#: Smallest variance kept on the MinT diagonal, relative to the largest (guards singular W).
_MIN_RELATIVE_VARIANCE = 1e-9


def bottom_up(h: Hierarchy, residuals: np.ndarray, history: np.ndarray) -> np.ndarray:
    """``P = [0 | I]``: the leaves' base forecasts, summed upwards."""
    n_agg = len(h.nodes) - len(h.leaves)
    return np.hstack([np.zeros((len(h.leaves), n_agg)), np.eye(len(h.leaves))])


def top_down(h: Hierarchy, residuals: np.ndarray, history: np.ndarray) -> np.ndarray:
    """Top-down with average historical proportions (Gross & Sohl 1990, method A).

    ``p_j = mean_t(y_{j,t} / y_{root,t})`` over ``history`` ``(time, node)``; leaves get
    ``p_j`` times the root forecast.
    """
    root = h.nodes.index(h.root)
    leaf_cols = [h.nodes.index(leaf) for leaf in h.leaves]
    ok = np.isfinite(history).all(axis=1) & (np.abs(history[:, root]) > 0)
    if not ok.any():
        props = np.full(len(h.leaves), 1.0 / len(h.leaves))
    else:
        props = np.mean(history[ok][:, leaf_cols] / history[ok][:, [root]], axis=0)
        props = props / props.sum()
    p = np.zeros((len(h.leaves), len(h.nodes)))
    p[:, root] = props
    return p


def shrink_covariance(residuals: np.ndarray) -> np.ndarray:
    """Schäfer-Strimmer shrinkage of the residual covariance towards its diagonal.

    Parameters
    ----------
    residuals:
        ``(samples, node)`` base-forecast errors (no NaN), centred inside.

    Returns
    -------
    numpy.ndarray
        ``W = lambda * diag(S) + (1 - lambda) * S`` with the optimal ``lambda`` of
        Schäfer & Strimmer (2005), target D (their "diagonal, unequal variance").
    """
    x = residuals - residuals.mean(axis=0)
    n = x.shape[0]
    cov = x.T @ x / max(n - 1, 1)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    sd = np.where(sd > 0, sd, 1.0)
    xs = x / sd
    corr = xs.T @ xs / max(n - 1, 1)
    # variance of the sample correlations, eq. of Schäfer & Strimmer (2005), Table 1 target D
    w = np.einsum("ti,tj->tij", xs, xs) if x.shape[1] <= 64 else None
    if w is not None:
        var_r = n / max((n - 1) ** 3, 1) * np.sum((w - w.mean(axis=0)) ** 2, axis=0)
    else:  # large hierarchies: cheaper moment form
        sq = xs**2
        var_r = n / max((n - 1) ** 3, 1) * (sq.T @ sq - n * (corr * (n - 1) / n) ** 2)
    off = ~np.eye(x.shape[1], dtype=bool)
    denom = np.sum(corr[off] ** 2)
    lam = float(np.clip(np.sum(var_r[off]) / denom, 0.0, 1.0)) if denom > 0 else 1.0
    shrunk = lam * np.diag(np.diag(cov)) + (1.0 - lam) * cov
    floor = _MIN_RELATIVE_VARIANCE * max(float(np.max(np.diag(cov))), 1e-12)
    return shrunk + floor * np.eye(x.shape[1])


def mint_shrink(h: Hierarchy, residuals: np.ndarray, history: np.ndarray) -> np.ndarray:
    """MinT with a shrunk residual covariance (Wickramasuriya et al. 2019).

    ``P = (S' W^-1 S)^-1 S' W^-1`` with ``W`` from :func:`shrink_covariance` of the base
    forecasts' validation residuals ``(samples, node)``.
    """
    ok = np.isfinite(residuals).all(axis=1)
    if ok.sum() < 3:
        logger.warning("too few residuals for MinT; falling back to bottom-up")
        return bottom_up(h, residuals, history)
    w = shrink_covariance(residuals[ok])
    s = h.s_matrix
    winv_s = np.linalg.solve(w, s)
    return np.linalg.solve(s.T @ winv_s, winv_s.T)


RECONCILERS: dict[str, Callable[[Hierarchy, np.ndarray, np.ndarray], np.ndarray]] = {
    "bottom_up": bottom_up,
    "top_down": top_down,
    "mint_shrink": mint_shrink,
}


def reconcile(
    h: Hierarchy, p: np.ndarray, quantiles: np.ndarray, median_index: int
) -> tuple[np.ndarray, np.ndarray]:
    """Apply projection ``p`` to base quantile forecasts.

    Parameters
    ----------
    quantiles:
        ``(..., node, quantile)`` base forecasts, non-crossing along the last axis.
    median_index:
        Position of the 0.5 quantile.

    Returns
    -------
    (quantiles, mean)
        Reconciled quantiles ``(..., node, quantile)`` (median coherent, every quantile of a
        node shifted like its median) and the coherent mean ``(..., node)``; the base mean is
        the average of the quantiles (a Riemann estimate of the predictive mean).
    """
    g = h.s_matrix @ p  # (node, node)
    median = quantiles[..., median_index]
    rec_median = median @ g.T
    mean = quantiles.mean(axis=-1) @ g.T
    shifted = quantiles + (rec_median - median)[..., None]
    shifted[..., median_index] = rec_median
    return shifted, mean


def floor_lower_quantiles(quantiles: np.ndarray, median_index: int) -> np.ndarray:
    """Raise quantiles below the median to ``min(0, median)`` where they fall below it.

    For a demand, a negative lower quantile is a forecast artefact (a wide band of a volatile
    series, e.g. an industrial feeder with step changes) that would make a no-export dispatch
    infeasible. The median and everything above it are untouched, so coherence of the median
    and the mean is kept, and since ``max(q, c)`` is monotone in ``q`` the quantiles stay
    non-crossing.
    """
    out = quantiles.copy()
    median = out[..., median_index : median_index + 1]
    out[..., :median_index] = np.maximum(out[..., :median_index], np.minimum(median, 0.0))
    return out
