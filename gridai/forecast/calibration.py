"""Recalibration of quantile forecasts on out-of-sample days: conformalised, scaled, per level.

A quantile network trained with the pinball loss is often over-confident out of sample (its
bands are fitted to days it has seen, and a new year brings a level shift that the median does
not follow). ``cqr`` rescales, per node and quantile level, each quantile's offset from the
median so that on out-of-sample days before the training end the share of actuals below it is
the nominal level: a one-sided, scaled form of conformalised quantile regression (Romano et al.
2019) applied to every level separately. ``cqr_hourly`` does the same per hour of the day.

Which days
----------
The scores must come from forecasts of days the model did not see, made as the served model
makes them. :meth:`gridai.forecast.base.Forecaster.fit` supplies them (``calibration_days``,
default 365): a second model is trained with the final model's recipe on the usable days
before the last year and forecasts every day of that year from data known at its issue time
(one more training). The early-stopping validation days can be used instead
(``calibration_days <= validation_days``, no extra training), but 56 days of one season are a
poor sample of the next year, and the early-stopped network is selected on them: on GEFCom2012
its bands covered 85 % / 84 % (lead 0 / 14 h) of the May-June 2007 validation days for a nominal
80 %, so calibrating there narrowed the bands and test-year coverage80 fell from 0.75 / 0.73 to
0.69 / 0.67; a year of scores raised it to 0.765 / 0.785 (``experiments/gefcom2012_dayahead``).
The guarantee is for exchangeable days; a new year is not one. The calibration model has a year
less history than the served one and was a little less over-confident on its year than the
served model on the next (coverage80 before calibration 0.724 vs 0.704 at lead 0 on 2006/07), so
coverage after calibration still tends to fall a point or two short of nominal.

Method
------
For node ``j``, hour ``h`` and level ``tau_k`` (not the median) on the calibration days, with the
base forecast's offset ``o_k = q_k - q_0.5`` (``o_k < 0`` below the median, ``> 0`` above) and
the residual ``r = y - m`` of the *reconciled* median ``m`` (the point forecast actually served),
the conformity score is the scaled residual ``s = r / o_k`` [dimensionless]. The factor
``lambda_k`` is the conformal quantile of the ``n`` scores at level ``p_k`` (``p_k = tau_k``
above the median, ``1 - tau_k`` below it), i.e. the ``ceil((n + 1) p_k)``-th smallest score, so
that ``P(y <= m + lambda_k o_k) >= tau_k`` above and ``P(y >= m + lambda_k o_k) >= 1 - tau_k``
below the median for exchangeable days (Romano et al. 2019, Theorem 1, per bound). The
calibrated forecast is ``q'_k = m + lambda_k o_k``.

* **Scaled, not shifted.** Scores are residuals in units of the model's own spread, so the
  calibration keeps the model's heteroscedasticity (a hot afternoon stays wider than a mild
  night) and transfers between seasons and load levels by a factor, not by an absolute band
  in kW (the "normalised" conformal scores of Papadopoulos et al. 2008 / Lei et al. 2018).
* **One factor for all hours (``cqr``) or per hour of the day (``cqr_hourly``**, = per lead
  from local midnight of the target day: step ``t`` of a day of ``S`` steps is hour
  ``floor(24 t / S)``; the scores of the hours within :data:`WINDOW_HOURS` of ``h`` are pooled
  (circularly), and an hour with fewer than :data:`MIN_SCORES` scores takes the pooled factor).
  With a year of scores both give the same coverage on GEFCom2012 and the pooled factor a
  slightly lower pinball loss in three of four checks (two test years x two leads; figures in
  ``experiments/gefcom2012_dayahead/README.md``), hence the default ``cqr``.
* **Around the median, before reconciliation** (the choice asked for by coherence): only the
  offsets from the median are rescaled, and the median itself is untouched, so calibration
  changes no point forecast (MAPE, RMSE are those of the uncalibrated model) and the
  reconciled median stays coherent. Reconciliation (:func:`gridai.forecast.reconcile.reconcile`)
  then shifts every quantile of a node by its median's change, exactly as without calibration;
  because that shift is the same for every level, rescaling before or after it gives the same
  quantiles, and rescaling before it lets the reconciled mean (the average of the calibrated
  base quantiles, projected) stay coherent too.
* **Non-crossing.** Factors are clipped at 0 (a quantile never crosses to the other side of the
  median) and the rescaled levels are sorted (monotone rearrangement, Chernozhukov et al.
  2010), which keeps the median in its place.

A model saved without calibration arrays (every model trained before this module, or with
``calibration: none``) is not touched at all: its forecasts are bit-identical to before.

References
----------
Romano, Y., Patterson, E., & Candès, E. (2019). Conformalized quantile regression. Advances in
Neural Information Processing Systems 32 (NeurIPS 2019), 3543-3553.
Chernozhukov, V., Fernández-Val, I., & Galichon, A. (2010). Quantile and probability curves
without crossing. Econometrica, 78(3), 1093-1125.
Papadopoulos, H., Gammerman, A., & Vovk, V. (2008). Normalized nonconformity measures for
regression conformal prediction. Proc. IASTED AIA 2008, 64-69.
Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J., & Wasserman, L. (2018). Distribution-free
predictive inference for regression. JASA, 113(523), 1094-1111.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

logger = logging.getLogger(__name__)

CalibrationMethod = Literal["none", "cqr", "cqr_hourly"]

#: Hours of the day the calibration distinguishes (per hour of the local target day).
HOURS_PER_DAY = 24
#: Scores of the hours ``h - WINDOW_HOURS .. h + WINDOW_HOURS`` are pooled for hour ``h``: with 56
#: calibration days a lone hour holds 56 scores, of which ~6 lie beyond a 0.1 or 0.9 quantile
#: (too few for a stable tail); three hours hold 168. Neighbouring hours of a load
#: forecast have similar error distributions, so pooling them costs little resolution.
WINDOW_HOURS = 1
#: Fewest scores for an hour's own factor; below it the factor of all hours pooled is used (and
#: below it overall, the identity).
MIN_SCORES = 20
#: Offsets smaller than this, relative to the node's mean absolute offset, carry no scale (a
#: degenerate band) and give no score.
_MIN_RELATIVE_OFFSET = 1e-6


def hour_of_step(steps_per_day: int) -> np.ndarray:
    """Hour of the day ``floor(24 t / S)`` of each step ``t`` of a day of ``S`` steps, ``(S,)`` int."""
    return (np.arange(steps_per_day) * HOURS_PER_DAY) // steps_per_day


@dataclass(frozen=True)
class QuantileCalibration:
    """Factors of the quantile offsets from the median, per hour, node and quantile level.

    Attributes
    ----------
    factors:
        ``(hour, node, quantile)`` [dimensionless], ``>= 0``; 1 at the median and wherever the
        validation days gave no information (the identity).
    """

    factors: np.ndarray

    def apply(self, quantiles: np.ndarray, median_index: int) -> np.ndarray:
        """Calibrated quantiles ``(day, step, node, quantile)``: ``m + lambda (q - m)``, sorted.

        The median column is returned unchanged (bit for bit).
        """
        q = np.asarray(quantiles, dtype=np.float64)
        hours = hour_of_step(q.shape[1]) % self.factors.shape[0]
        med = q[..., median_index : median_index + 1]
        out = med + self.factors[hours][None] * (q - med)
        out[..., median_index] = q[..., median_index]
        return np.sort(out, axis=-1)


def identity_calibration(n_nodes: int, n_quantiles: int) -> QuantileCalibration:
    """The calibration that changes nothing."""
    return QuantileCalibration(np.ones((HOURS_PER_DAY, n_nodes, n_quantiles)))


def _conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ``ceil((n + 1) level)``-th smallest of ``n`` scores (the largest when that exceeds ``n``)."""
    s = np.sort(scores)
    k = int(np.ceil((len(s) + 1) * level))
    return float(s[min(max(k, 1), len(s)) - 1])


def fit_cqr(
    actual: np.ndarray,
    base: np.ndarray,
    reconciled_median: np.ndarray,
    levels: Sequence[float],
    median_index: int,
    *,
    hourly: bool = True,
) -> QuantileCalibration:
    """Fit the conformal factors (see the module docstring) on out-of-sample days.

    Parameters
    ----------
    actual:
        ``(day, step, node)`` observed load [units of the load]; NaN is skipped.
    base:
        ``(day, step, node, quantile)`` base (unreconciled) quantile forecasts of those days.
    reconciled_median:
        ``(day, step, node)`` the reconciled median served for those days.
    levels:
        Quantile levels of the last axis of ``base``.
    median_index:
        Position of the 0.5 level.
    hourly:
        One factor per hour of the day (scores of the hours within :data:`WINDOW_HOURS`
        pooled; ``cqr_hourly``), or one for all hours (``cqr``).
    """
    n_days, spd, n_nodes, n_q = base.shape
    off = base - base[..., median_index : median_index + 1]  # (d, s, n, q)
    resid = actual - reconciled_median  # (d, s, n)
    hours = hour_of_step(spd)
    scale = np.nanmean(np.abs(off), axis=(0, 1, 3))  # (n,)
    factors = np.ones((HOURS_PER_DAY, n_nodes, n_q))
    for k, tau in enumerate(levels):
        if k == median_index:
            continue
        p = float(tau) if k > median_index else 1.0 - float(tau)
        o = off[..., k]
        ok = np.isfinite(resid) & np.isfinite(o) & (np.abs(o) > _MIN_RELATIVE_OFFSET * scale)
        scores = np.where(ok, resid / np.where(ok, o, 1.0), np.nan)  # (d, s, n)
        for j in range(n_nodes):
            sj = scores[..., j]
            every = sj[np.isfinite(sj)]
            if every.size < MIN_SCORES:
                continue
            pooled = _conformal_quantile(every, p)
            factors[:, j, k] = pooled
            if not hourly:
                continue
            for h in range(HOURS_PER_DAY):
                near = (hours - h + HOURS_PER_DAY // 2) % HOURS_PER_DAY - HOURS_PER_DAY // 2
                sh = sj[:, np.abs(near) <= WINDOW_HOURS]
                sh = sh[np.isfinite(sh)]
                factors[h, j, k] = _conformal_quantile(sh, p) if sh.size >= MIN_SCORES else pooled
    factors = np.maximum(factors, 0.0)
    logger.info(
        "calibration %s: median factor of the offsets %.2f (range %.2f .. %.2f) over %d days",
        "cqr_hourly" if hourly else "cqr",
        float(np.median(np.delete(factors, median_index, axis=2))),
        float(np.min(factors)),
        float(np.max(factors)),
        n_days,
    )
    return QuantileCalibration(factors)
