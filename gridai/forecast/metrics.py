"""Point and probabilistic forecast metrics.

All functions take arrays of actuals and forecasts of the same shape (the point forecast is
the median) and ignore positions where the actual is NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gridai.forecast.quantiles import median_of, quantile_at

#: Quantile pair whose interval is the "80 % interval" of ``coverage``.
INTERVAL_80 = (0.1, 0.9)
#: Quantile pair whose interval is the "50 % interval" (interpolated linearly when not held).
INTERVAL_50 = (0.25, 0.75)


def _pair(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    ok = np.isfinite(a) & np.isfinite(f)
    return a[ok], f[ok]


def mape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Mean absolute percentage error ``100 * mean(|y - f| / |y|)`` [%]; zero actuals are skipped."""
    a, f = _pair(actual, forecast)
    nz = a != 0
    return float(100.0 * np.mean(np.abs(a[nz] - f[nz]) / np.abs(a[nz]))) if nz.any() else float("nan")


def rmse(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Root mean squared error [units of the load]."""
    a, f = _pair(actual, forecast)
    return float(np.sqrt(np.mean((a - f) ** 2))) if a.size else float("nan")


def accuracy(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Accuracy ``100 * (1 - RMSPE)`` [%], RMSPE = ``sqrt(mean(((y - f) / y)^2))`` (grid operators' figure)."""
    a, f = _pair(actual, forecast)
    nz = a != 0
    if not nz.any():
        return float("nan")
    return float(100.0 * (1.0 - np.sqrt(np.mean(((a[nz] - f[nz]) / a[nz]) ** 2))))


def pinball(actual: np.ndarray, quantile_forecasts: np.ndarray, quantiles: Sequence[float]) -> float:
    """Mean pinball (quantile) loss over all quantiles and intervals [units of the load].

    ``L_q(y, f) = max(q (y - f), (q - 1) (y - f))``; ``quantile_forecasts`` has the quantile
    levels on its last axis and ``actual`` the other axes.

    References
    ----------
    Koenker, R., & Bassett, G. (1978). Regression quantiles. Econometrica, 46(1), 33-50.
    """
    y = np.asarray(actual, dtype=np.float64)[..., None]
    f = np.asarray(quantile_forecasts, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    diff = y - f
    loss = np.maximum(q * diff, (q - 1.0) * diff)
    ok = np.isfinite(loss)
    return float(np.mean(loss[ok])) if ok.any() else float("nan")


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Fraction of actuals inside ``[lower, upper]`` (0..1)."""
    y = np.asarray(actual, dtype=np.float64)
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(lo) & np.isfinite(hi)
    return float(np.mean((y[ok] >= lo[ok]) & (y[ok] <= hi[ok]))) if ok.any() else float("nan")


def crps_from_quantiles(
    actual: np.ndarray, quantile_forecasts: np.ndarray, quantiles: Sequence[float]
) -> float:
    """CRPS approximated from quantiles: ``2 x`` the mean pinball loss over the levels [units of the load].

    ``CRPS(F, y) = 2 int_0^1 L_tau(y, F^-1(tau)) dtau`` (Laio & Tamea 2007; Gneiting & Raftery
    2007); the mean over evenly spaced levels is its Riemann sum. With levels 0.1 .. 0.9 the
    tails below 0.05 and above 0.95 are left out, so this is a slight underestimate, comparable
    between forecasts of the same levels only.

    References
    ----------
    Laio, F., & Tamea, S. (2007). Verification tools for probabilistic forecasts of continuous
    hydrological variables. Hydrology and Earth System Sciences, 11(4), 1267-1277.
    Gneiting, T., & Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
    estimation. JASA, 102(477), 359-378.
    """
    return 2.0 * pinball(actual, quantile_forecasts, quantiles)


def _band_coverage(actual: np.ndarray, f: np.ndarray, qs: list[float], band: tuple[float, float]) -> float:
    """Coverage of the band between levels ``band``, interpolated between held levels; NaN outside them."""
    lo, hi = band
    if not qs or lo < min(qs) - 1e-9 or hi > max(qs) + 1e-9:
        return float("nan")
    return coverage(actual, quantile_at(f, qs, lo), quantile_at(f, qs, hi))


def score(actual: np.ndarray, quantile_forecasts: np.ndarray, quantiles: Sequence[float]) -> dict[str, float]:
    """All metrics of one series.

    ``mape`` [%], ``rmse`` [units], ``accuracy`` [%] (median as the point forecast), ``pinball``
    [units] (mean over levels), ``crps`` [units] (:func:`crps_from_quantiles`, ``2 x pinball``),
    ``coverage50`` and ``coverage80`` (fractions of actuals inside the 0.25-0.75 and 0.1-0.9
    bands, a level that is not forecast interpolated linearly between its neighbours as in
    :func:`gridai.forecast.quantiles.quantile_at`; NaN when the levels do not reach the band).
    """
    qs = [round(float(q), 6) for q in quantiles]
    f = np.asarray(quantile_forecasts, dtype=np.float64)
    med = median_of(f, qs)
    return {
        "mape": mape(actual, med),
        "rmse": rmse(actual, med),
        "accuracy": accuracy(actual, med),
        "pinball": pinball(actual, f, qs),
        "crps": crps_from_quantiles(actual, f, qs),
        "coverage50": _band_coverage(actual, f, qs, INTERVAL_50),
        "coverage80": _band_coverage(actual, f, qs, INTERVAL_80),
    }
