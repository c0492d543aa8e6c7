"""Baseline forecasters: seasonal naive and Hong's vanilla multiple linear regression.

Both produce quantiles by adding empirical quantiles of their historical residuals (per
node) to the point forecast, centred so that the median is the point forecast.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from gridai.features.weather import station_mean
from gridai.forecast.base import Forecaster
from gridai.forecast.panel import DayInputs, Panel, day_targets

logger = logging.getLogger(__name__)


def residual_offsets(residuals: np.ndarray, quantiles: list[float], median_index: int) -> np.ndarray:
    """Quantiles of residuals ``(samples, node)`` centred on their median, ``(node, quantile)``."""
    res = np.where(np.isfinite(residuals), residuals, np.nan)
    ok = np.isfinite(res).any(axis=0)
    off = np.zeros((res.shape[1], len(quantiles)))
    if ok.any():
        off[ok] = np.nanquantile(res[:, ok], quantiles, axis=0).T
    off -= off[:, [median_index]]
    return np.maximum.accumulate(off, axis=1)


def least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``y ~ x`` (several right-hand sides) via the normal equations.

    A tiny ridge (1e-8 of the mean diagonal of ``x'x``) keeps rank-deficient designs (e.g. a month
    absent from the training data, collinear dummies) solvable; it changes well-posed fits by
    far less than their noise. Much faster than an SVD-based ``lstsq`` on tall designs.
    """
    xtx = x.T @ x
    ridge = 1e-8 * max(float(np.mean(np.diag(xtx))), 1e-12)
    return np.linalg.solve(xtx + ridge * np.eye(xtx.shape[0]), x.T @ y)


class SeasonalNaive(Forecaster):
    """Same interval one week earlier; quantiles from the weekly residuals of the last year.

    ``y_hat(t) = y(t - 7 d)``, always observed before the issue time (lead < 6 days).
    """

    name = "seasonal_naive"

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        self.offsets = np.zeros((0, 0))

    def _point(self, panel: Panel, inputs: DayInputs) -> np.ndarray:
        spd = panel.steps_per_day
        rng = np.arange(spd)
        out = np.full((len(inputs.days), spd, panel.load.shape[1]), np.nan)
        for weeks in (1, 2, 3):  # fall back a week further back where last week is missing
            idx = inputs.start_index[:, None] + rng - weeks * 7 * spd
            valid = (idx >= 0) & (idx < inputs.end_index[:, None])
            vals = panel.load[np.clip(idx, 0, None)]
            vals[~valid] = np.nan
            out = np.where(np.isfinite(out), out, vals)
        return out

    def _fit_nodes(self, panel: Panel, train: DayInputs, val: DayInputs) -> None:
        recent = train.subset(np.arange(len(train.days)) >= len(train.days) - self.cfg.baseline_residual_days)
        res = (day_targets(panel, recent) - self._point(panel, recent)).reshape(-1, panel.load.shape[1])
        self.offsets = residual_offsets(res, self.cfg.quantiles, self.median_index)

    def _predict_nodes(self, panel: Panel, inputs: DayInputs) -> np.ndarray:
        point = self._point(panel, inputs)
        if not np.isfinite(point).all():
            day = inputs.days[int(np.argmax(~np.isfinite(point).all(axis=(1, 2))))]
            logger.warning(
                "seasonal naive: no load 1-3 weeks before some intervals (first day %s); NaN kept", day
            )
        return point[..., None] + self.offsets[None, None]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"offsets": self.offsets}

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.offsets = arrays["offsets"]


class VanillaMLR(Forecaster):
    """Hong's vanilla benchmark: multiple linear regression on trend, calendar and temperature.

    ``y = b0 + b1 trend + b2 (day-of-week x hour) + b3 month + b4 month x (T, T^2, T^3)
    + b5 hour x (T, T^2, T^3)``, with ``T`` the mean of all stations [degC] and "hour" the
    interval of the local day; fitted by least squares per node (one shared design matrix).
    Lead-time independent: it uses no load lags.

    References
    ----------
    Hong, T. (2010). Short term electric load forecasting. PhD thesis, North Carolina State
    University. Hong, T., Pinson, P., & Fan, S. (2014). Global Energy Forecasting Competition
    2012. International Journal of Forecasting, 30(2), 357-363.
    """

    name = "vanilla"

    def __init__(self, cfg: Any) -> None:
        super().__init__(cfg)
        self.coef = np.zeros((0, 0))
        self.offsets = np.zeros((0, 0))
        self.t_ref = "2000-01-01T00:00:00"

    def _design(self, panel: Panel, inputs: DayInputs) -> np.ndarray:
        spd = panel.steps_per_day
        n = len(inputs.days)
        temp = station_mean(inputs.temp_day_c) / 10.0  # (d, s); /10 for conditioning only
        times = panel.times.values[inputs.start_index[:, None] + np.arange(spd)]
        trend = (pd.DatetimeIndex(times.ravel()) - pd.Timestamp(self.t_ref)) / pd.Timedelta(days=365.25)
        dow = np.array([d.weekday() for d in inputs.days])
        month = np.array([d.month - 1 for d in inputs.days])
        step = np.broadcast_to(np.arange(spd), (n, spd)).ravel()
        dow_r = np.repeat(dow, spd)
        month_r = np.repeat(month, spd)
        t = temp.ravel()
        rows = n * spd
        cols = [np.asarray(trend, dtype=np.float64)[:, None]]
        dh = np.zeros((rows, 7 * spd))
        dh[np.arange(rows), dow_r * spd + step] = 1.0
        mo = np.zeros((rows, 12))
        mo[np.arange(rows), month_r] = 1.0
        cols += [dh, mo[:, 1:]]
        for power in (1, 2, 3):
            tp = t**power
            cols.append(mo * tp[:, None])
            hx = np.zeros((rows, spd))
            hx[np.arange(rows), step] = tp
            cols.append(hx)
        return np.hstack(cols)

    def _fit_nodes(self, panel: Panel, train: DayInputs, val: DayInputs) -> None:
        self.t_ref = pd.Timestamp(panel.times[0]).isoformat()
        x = self._design(panel, train)
        y = day_targets(panel, train).reshape(x.shape[0], -1)
        ok = np.isfinite(y).all(axis=1) & np.isfinite(x).all(axis=1)
        self.coef = least_squares(x[ok], y[ok])
        recent = np.arange(x.shape[0]) >= x.shape[0] - self.cfg.baseline_residual_days * panel.steps_per_day
        res = (y - x @ self.coef)[recent]
        self.offsets = residual_offsets(res, self.cfg.quantiles, self.median_index)

    def _predict_nodes(self, panel: Panel, inputs: DayInputs) -> np.ndarray:
        x = self._design(panel, inputs)
        point = (x @ self.coef).reshape(len(inputs.days), panel.steps_per_day, -1)
        return point[..., None] + self.offsets[None, None]

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"t_ref": self.t_ref}, {"coef": self.coef, "offsets": self.offsets}

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.t_ref = str(meta["t_ref"])
        self.coef, self.offsets = arrays["coef"], arrays["offsets"]
