"""MinT reconciliation against its closed form, computed by hand on a two-leaf hierarchy.

``test_reconciliation_methods_coherent_and_noncrossing`` (test_forecast_backtest.py) checks
properties every projection has (coherence, non-crossing), so it still passes if MinT is replaced
by bottom-up or OLS. Here the answer is known: for ``total = a + b`` (rows ``total, a, b``)

    S = [[1, 1], [1, 0], [0, 1]],   P = (S' W^-1 S)^-1 S' W^-1   (Wickramasuriya et al. 2019)

and the base forecasts ``total = 100, a = 60, b = 32`` (incoherent by d = 100 - 92 = 8 kW) give
three different reconciled answers for bottom-up, OLS and MinT, so a swapped method fails.

Bottom-up: P = [[0, 1, 0], [0, 0, 1]] -> a = 60, b = 32, total = 92.
OLS (W = I): S'S = [[2, 1], [1, 2]], (S'S)^-1 = 1/3 [[2, -1], [-1, 2]], so
    P = 1/3 [[1, 2, -1], [1, -1, 2]] -> a = 188/3 = 62.667, b = 104/3 = 34.667, total = 97.333.
"""

from __future__ import annotations

import numpy as np
import pytest

from gridai.forecast import reconcile as rec
from gridai.forecast.panel import Hierarchy
from gridai.forecast.reconcile import bottom_up, mint_shrink, reconcile, shrink_covariance

BASE = np.array([100.0, 60.0, 32.0])  # total, a, b [kW]
P_BOTTOM_UP = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
P_OLS = np.array([[1.0, 2.0, -1.0], [1.0, -1.0, 2.0]]) / 3.0

# W = diag(4, 1, 3): S' W^-1 S = [[1/4 + 1, 1/4], [1/4, 1/4 + 1/3]] = [[5/4, 1/4], [1/4, 7/12]],
# det = 35/48 - 3/48 = 2/3, inverse = [[7/8, -3/8], [-3/8, 15/8]]; S' W^-1 = [[1/4, 1, 0], [1/4, 0, 1/3]];
# P = [[1/8, 7/8, -1/8], [3/8, -3/8, 5/8]]. Equivalently each leaf takes its share of the variances,
# w_leaf / (w_total + w_a + w_b), of the incoherence d = 8: a = 60 + 1/8 * 8 = 61, b = 32 + 3/8 * 8 = 35.
P_MINT_DIAGONAL = np.array([[1.0, 7.0, -1.0], [3.0, -3.0, 5.0]]) / 8.0
RECONCILED_DIAGONAL = np.array([96.0, 61.0, 35.0])

# W = [[4, 0, 0], [0, 2, 1], [0, 1, 2]] (a and b errors covary): W^-1 = [[1/4, 0, 0], [0, 2/3, -1/3],
# [0, -1/3, 2/3]], W^-1 S = [[1/4, 1/4], [2/3, -1/3], [-1/3, 2/3]], S' W^-1 S = [[11/12, -1/12],
# [-1/12, 11/12]], det = 120/144 = 5/6, inverse = [[11/10, 1/10], [1/10, 11/10]];
# P = [[3/10, 7/10, -3/10], [3/10, -3/10, 7/10]] -> a = 18 + 42 - 9.6 = 62.4, b = 18 - 18 + 22.4 = 34.4
# (with the diagonal only, diag(4, 2, 2), the split would be 2/8 each: a = 62, b = 34).
W_COVARIANCE = np.array([[4.0, 0.0, 0.0], [0.0, 2.0, 1.0], [0.0, 1.0, 2.0]])
P_MINT_COVARIANCE = np.array([[3.0, 7.0, -3.0], [3.0, -3.0, 7.0]]) / 10.0
RECONCILED_COVARIANCE = np.array([96.8, 62.4, 34.4])


@pytest.fixture
def hierarchy() -> Hierarchy:
    h = Hierarchy.from_json(
        {"nodes": ["total", "a", "b"], "leaves": ["a", "b"], "parents": {}, "root": "total"}
    )
    np.testing.assert_array_equal(h.s_matrix, [[1, 1], [1, 0], [0, 1]])
    return h


def _reconciled(h: Hierarchy, p: np.ndarray) -> np.ndarray:
    """Reconcile the median-only base forecast ``BASE`` with projection ``p``."""
    quantiles, mean = reconcile(h, p, BASE[None, :, None], median_index=0)
    np.testing.assert_allclose(mean[0], quantiles[0, :, 0])
    return quantiles[0, :, 0]


def _assert_differs_from_bottom_up_and_ols(p: np.ndarray) -> None:
    """By far more than the tolerance of the closed-form checks (the covariance case is 1/30 from OLS)."""
    assert np.abs(p - P_BOTTOM_UP).max() > 0.01
    assert np.abs(p - P_OLS).max() > 0.01


def test_shrink_covariance_by_hand() -> None:
    """Two series, four samples: x1 = [1, 1, -1, -1], x2 = [2, 0, 0, -2] (both mean zero).

    Sample covariance S = [[4/3, 4/3], [4/3, 8/3]], correlation r = (4/3) / sqrt(4/3 * 8/3) = 1/sqrt(2).
    Schäfer & Strimmer (2005), target D: with standardised products w_t = x1_t x2_t / (s1 s2) =
    [2, 0, 0, 2] * 3/sqrt(32), Var(r) = n / (n - 1)^3 * sum_t (w_t - mean w)^2 = 4/27 * 4 * 9/32 = 1/6,
    so lambda = Var(r) / r^2 = (1/6) / (1/2) = 1/3 and W = diag(S) / 3 + 2 S / 3 =
    [[4/3, 8/9], [8/9, 8/3]] (plus the 1e-9 x max variance floor on the diagonal).
    """
    x = np.array([[1.0, 2.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, -2.0]])
    expected = np.array([[4 / 3, 8 / 9], [8 / 9, 8 / 3]]) + 1e-9 * (8 / 3) * np.eye(2)
    np.testing.assert_allclose(shrink_covariance(x), expected, rtol=1e-12)


def test_mint_with_a_diagonal_w_matches_the_closed_form(hierarchy: Hierarchy) -> None:
    """Residual columns c * h with orthogonal +-1 patterns h (zero mean, zero sample correlation):
    sample variance 4 c^2 / 3 = 4, 1, 3 for c = sqrt(3), sqrt(3)/2, 3/2. Uncorrelated samples leave
    the shrinkage nothing off the diagonal, so mint_shrink's W is diag(4, 1, 3) (+ a 4e-9 floor)."""
    patterns = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)
    residuals = patterns * np.array([np.sqrt(3.0), np.sqrt(3.0) / 2, 1.5])
    np.testing.assert_allclose(np.cov(residuals, rowvar=False), np.diag([4.0, 1.0, 3.0]), atol=1e-12)

    p = mint_shrink(hierarchy, residuals, history=np.empty((0, 3)))
    np.testing.assert_allclose(p, P_MINT_DIAGONAL, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(_reconciled(hierarchy, p), RECONCILED_DIAGONAL, rtol=1e-7)
    _assert_differs_from_bottom_up_and_ols(p)
    np.testing.assert_allclose(
        _reconciled(hierarchy, bottom_up(hierarchy, residuals, np.empty((0, 3)))), [92, 60, 32]
    )
    np.testing.assert_allclose(_reconciled(hierarchy, P_OLS), [292 / 3, 188 / 3, 104 / 3])


def test_mint_with_a_covariance_matches_the_closed_form(
    hierarchy: Hierarchy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The projection for a W with an off-diagonal term: mint_shrink is handed the hand-built W in
    place of its estimate (the estimate itself is checked in test_shrink_covariance_by_hand)."""
    monkeypatch.setattr(rec, "shrink_covariance", lambda residuals: W_COVARIANCE)
    p = mint_shrink(hierarchy, np.zeros((5, 3)), history=np.empty((0, 3)))
    np.testing.assert_allclose(p, P_MINT_COVARIANCE, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_reconciled(hierarchy, p), RECONCILED_COVARIANCE, rtol=1e-12)
    _assert_differs_from_bottom_up_and_ols(p)
    # the covariance matters: the diagonal of the same W splits the incoherence 2/8 each (a = 62)
    monkeypatch.setattr(rec, "shrink_covariance", lambda residuals: np.diag(np.diag(W_COVARIANCE)))
    diagonal_only = mint_shrink(hierarchy, np.zeros((5, 3)), history=np.empty((0, 3)))
    np.testing.assert_allclose(_reconciled(hierarchy, diagonal_only), [96.0, 62.0, 34.0], rtol=1e-12)


def test_mint_is_the_registered_mint_shrink() -> None:
    """The name the config uses runs the function tested above."""
    assert rec.RECONCILERS["mint_shrink"] is mint_shrink
