"""Sampled (Gaussian copula) scenarios from quantile forecasts, and scenario dispatch on them.

Dispatch hand case (:func:`test_scenario_dispatch_beats_median_when_the_peak_hour_is_uncertain`):
three hours, prices 0.08, 0.20, 0.20 $/kWh, demand charge 1 $/kW on the horizon's highest
import; one lossless battery (2 kW, 4 kWh, starts and ends at 2 kWh). Forecast quantiles
0.1 / 0.5 / 0.9: hour 0 is 4 / 5 / 9 kW (a cheap hour that may spike), hour 1 is 6 kW and hour 2
is 10 kW for certain. Interpolated in the normal score, hour 0 is ``5 + s Z`` with
``s_lo = 1 / 1.2816`` below the median and ``s_up = 4 / 1.2816`` above.

* Median plan: discharge 2 kW at hour 2 (peak 10 -> 8) and recharge at the cheap hour 0
  (5 + 2 = 7 <= 8 kW). Settled: ``0.08 (E[L0] + 2) + 0.2 x 6 + 0.2 x 8 + 8 + s_up G(1 / s_up)``
  = 12.2433 $, with ``G(k) = phi(k) - k (1 - Phi(k))`` (the peak moves to hour 0 whenever
  ``L0 > 6``: probability 0.374).
* Scenario plan: recharge at the dearer but certain hour 1 instead (import 8, 8 kW):
  ``0.08 E[L0] + 0.2 x 8 + 0.2 x 8 + 8 + s_up G(3 / s_up)`` = 11.9546 $; 0.289 $ less.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.special import ndtr, ndtri

from gridai.dispatch.api import dispatch_feeder
from gridai.dispatch.inputs import prepare_inputs
from gridai.dispatch.scenarios import ar1_normal_scores, copula_paths
from gridai.dispatch.testing import config, daily_profile_kw, make_forecast

LEVELS = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
Z90 = float(ndtri(0.9))  # 1.2816


def _quantiles(n_t: int = 24) -> np.ndarray:
    """Two series ``(F, T, K)``: skewed quantiles whose spread changes over the day [kW]."""
    med = np.stack([daily_profile_kw(n_t, 100.0), daily_profile_kw(n_t, 40.0)])
    width = 1.0 + 0.5 * np.sin(np.arange(n_t) / 3.0)
    off = np.array([-12.0, -5.0, 0.0, 7.0, 20.0])  # right-skewed
    return med[..., None] + width[None, :, None] * off


def test_sampled_paths_have_the_forecast_quantiles() -> None:
    """At every interval the share of 4,000 paths at or below quantile ``q`` is ``q`` (4.5 sigma)."""
    vals = _quantiles()
    paths, _ = copula_paths(vals, LEVELS, 4000, seed=1)
    assert paths.shape == (4000, 2, 24)
    share = (paths[..., None] <= vals[None]).mean(axis=0)  # (F, T, K)
    tol = 4.5 * np.sqrt(LEVELS * (1 - LEVELS) / 4000)
    assert np.all(np.abs(share - LEVELS) <= tol), np.abs(share - LEVELS).max()
    # flat tails hold the outer quantiles; linear tails go beyond them
    flat, _ = copula_paths(vals, LEVELS, 4000, seed=1, tails="flat")
    assert flat.min() >= vals[..., 0].min() - 1e-12 and paths.min() < vals[..., 0].min()
    assert np.all(flat.min(axis=0) >= vals[..., 0] - 1e-9) and np.all(
        flat.max(axis=0) <= vals[..., -1] + 1e-9
    )


@pytest.mark.parametrize("rho", [pytest.param(0.9, id="rho-0.9"), pytest.param(0.5, id="rho-0.5")])
def test_normal_scores_are_ar1(rho: float) -> None:
    """A Gaussian forecast (0.1 / 0.5 / 0.9 symmetric) maps back to the normal scores, whose
    lag-1 correlation is ``rho`` and lag-3 ``rho ** 3``; the scores are standard normal."""
    med, sd = np.linspace(50.0, 80.0, 24), np.linspace(2.0, 6.0, 24)
    vals = np.stack([med - Z90 * sd, med, med + Z90 * sd], axis=-1)
    paths, _ = copula_paths(vals, [0.1, 0.5, 0.9], 4000, rho=rho, seed=3)
    z = (paths - med) / sd  # (S, T)
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03
    lag1 = np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]
    lag3 = np.corrcoef(z[:, :-3].ravel(), z[:, 3:].ravel())[0, 1]
    assert lag1 == pytest.approx(rho, abs=0.01) and lag3 == pytest.approx(rho**3, abs=0.02)
    # the generator on its own, and its limits
    rng = np.random.default_rng(0)
    assert np.ptp(ar1_normal_scores(rng, (5, 10), 1.0), axis=-1).max() == 0.0  # comonotone
    with pytest.raises(ValueError, match="rho"):
        ar1_normal_scores(rng, (5, 10), 1.5)


def test_seed_reproducibility_and_weights() -> None:
    vals = _quantiles()
    a, wa = copula_paths(vals, LEVELS, 30, seed=7)
    b, _ = copula_paths(vals, LEVELS, 30, seed=7)
    c, _ = copula_paths(vals, LEVELS, 30, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert wa.shape == (30,) and wa.sum() == pytest.approx(1.0) and np.ptp(wa) == 0.0
    one, w1 = copula_paths(vals[0], LEVELS, 30, seed=7)  # one series (T, K) -> (S, T)
    assert one.shape == (30, 24) and w1.sum() == pytest.approx(1.0)
    # a non-negative forecast stays non-negative under linear tails
    low, _ = copula_paths(np.array([[0.0, 1.0, 10.0]]), [0.1, 0.5, 0.9], 1000, seed=0)
    assert low.min() == 0.0


def test_config_selects_the_scenario_method() -> None:
    fc = make_forecast(daily_profile_kw(24, 500.0), freq="1h", quantiles=(0.1, 0.5, 0.9))
    feeders = [dict(name="f1")]
    sampled = prepare_inputs(config(feeders, scenarios=dict(n_scenarios=12, seed=4)), fc, mode="scenario")
    assert sampled.load_kw.shape == (12, 1, 24) and sampled.weights.sum() == pytest.approx(1.0)
    again = prepare_inputs(config(feeders, scenarios=dict(n_scenarios=12, seed=4)), fc, mode="scenario")
    np.testing.assert_array_equal(sampled.load_kw, again.load_kw)
    paths = prepare_inputs(config(feeders, scenarios=dict(method="quantile_paths")), fc, mode="scenario")
    assert paths.levels == [0.1, 0.5, 0.9] and paths.weights.tolist() == pytest.approx([0.3, 0.4, 0.3])


def _hand_case() -> xr.Dataset:
    vals = np.array([[4.0, 5.0, 9.0], [6.0, 6.0, 6.0], [10.0, 10.0, 10.0]])[:, None, :]
    return xr.Dataset(
        {"load_forecast": (("time", "series", "quantile"), vals)},
        coords={
            "time": pd.date_range("2008-01-01", periods=3, freq="h"),
            "series": ["f1"],
            "quantile": [0.1, 0.5, 0.9],
        },
    )


def test_scenario_dispatch_beats_median_when_the_peak_hour_is_uncertain() -> None:
    bat = dict(
        name="B", power_kw=2.0, energy_kwh=4.0, eta_charge=1.0, eta_discharge=1.0, soc_initial_frac=0.5
    )
    tariff = dict(base_price_per_kwh=0.08, peak_price_per_kwh=0.20, peak_start_h=1, peak_end_h=3,
                  demand_charge_per_kw=1.0, demand_charge_period="horizon")  # fmt: skip
    cfg = config([dict(name="f1", batteries=[bat])], tariff=tariff)  # default: 30 copula paths
    fc = _hand_case()
    med = dispatch_feeder(cfg, fc, feeder="f1", mode="deterministic")
    sc = dispatch_feeder(cfg, fc, feeder="f1", mode="scenario")
    np.testing.assert_allclose(med.schedule["p_kw"], [-2.0, 0.0, 2.0], atol=1e-6)
    np.testing.assert_allclose(sc.schedule["p_kw"], [0.0, -2.0, 2.0], atol=1e-6)

    # expected settled costs in closed form (hour 0 piecewise normal in the normal score)
    s_lo, s_up = 1.0 / Z90, 4.0 / Z90
    phi0 = 1.0 / np.sqrt(2 * np.pi)
    mean_l0 = 5.0 + (s_up - s_lo) * phi0

    def excess(c: float) -> float:  # E[(L0 - c)+] for c above the median
        k = (c - 5.0) / s_up
        return s_up * (np.exp(-(k**2) / 2) / np.sqrt(2 * np.pi) - k * (1 - ndtr(k)))

    cost_med = 0.08 * (mean_l0 + 2) + 0.2 * 6 + 0.2 * 8 + 8 + excess(6.0)
    cost_sc = 0.08 * mean_l0 + 0.2 * 8 + 0.2 * 8 + 8 + excess(8.0)
    assert cost_med == pytest.approx(12.2433, abs=1e-4) and cost_sc == pytest.approx(11.9546, abs=1e-4)

    # the same by settling both plans on 200,000 independent draws of hour 0
    z = np.random.default_rng(11).standard_normal(200_000)
    load = np.stack([5.0 + np.where(z < 0, s_lo, s_up) * z, np.full_like(z, 6.0), np.full_like(z, 10.0)], 1)
    price = np.array([0.08, 0.20, 0.20])

    def settled(p: np.ndarray) -> float:
        imp = np.maximum(load - p, 0.0)
        return float((imp @ price + imp.max(axis=1)).mean())

    assert settled(med.schedule["p_kw"].to_numpy()) == pytest.approx(cost_med, abs=0.015)
    assert settled(sc.schedule["p_kw"].to_numpy()) == pytest.approx(cost_sc, abs=0.015)
    # the median plans 11.36 $ and settles 12.24 $; the scenario plan's expectation is honest
    assert med.costs["total"] == pytest.approx(11.36, abs=1e-6)
    assert sc.costs["total"] == pytest.approx(cost_sc, abs=0.15)
