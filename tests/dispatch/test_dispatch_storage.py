"""Battery dispatch against hand-solved optima, exhaustive enumeration, and property tests."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridai.dispatch.api import dispatch_feeder
from gridai.dispatch.testing import config, make_forecast

HOURLY = dict(freq="1h")


def _battery(**kw):
    base = dict(name="B1", power_kw=5.0, energy_kwh=10.0, eta_charge=1.0, eta_discharge=1.0,
                soc_initial_frac=0.0, cyclic=False)  # fmt: skip
    base.update(kw)
    return base


def _tariff(**kw):
    base = dict(
        base_price_per_kwh=0.1, peak_price_per_kwh=0.3, peak_start_h=2, peak_end_h=4, carbon_price_per_kg=0.0
    )
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("eta", "expected"),
    [
        # charge 5 kW at 0.1 for 2 h (10 kWh), discharge 5 kW for 2 h at 0.3: 0.1*15*2 + 0.3*5*2
        pytest.param(1.0, 6.0, id="lossless"),
        # 9 kWh stored; 5 kW then 8.1 - 5 = 3.1 kW delivered: 0.1*30 + 0.3*(5 + 6.9)
        pytest.param(0.9, 6.57, id="eta-0.9"),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_two_price_day_hand_solved(eta: float, expected: float, fast: bool) -> None:
    cfg = config(
        [dict(name="f1", batteries=[_battery(eta_charge=eta, eta_discharge=eta)])],
        tariff=_tariff(),
        solve=dict(fast=fast),
    )
    res = dispatch_feeder(cfg, make_forecast([10.0] * 4, **HOURLY), feeder="f1")
    assert res.solve.objective == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert res.costs["total"] == pytest.approx(expected, rel=1e-9)
    p = res.schedule["p_kw"].to_numpy()
    np.testing.assert_allclose(p[:2], [-5.0, -5.0], atol=1e-7)
    # the marginal price at the feeder head is the tariff where the battery is not at a limit
    duals = res.grid["balance_dual_per_kwh"].to_numpy()
    assert np.isfinite(duals).all()


def test_fast_and_plain_paths_agree_with_every_asset() -> None:
    feeders = [
        dict(
            name="f1",
            batteries=[_battery(power_kw=200, energy_kwh=800, eta_charge=0.95, eta_discharge=0.93, soc_initial_frac=0.5,
                                cyclic=True, degradation_cost_per_kwh=0.01, ramp_kw_per_h=400, standing_loss_per_h=0.001)],
            pv=[dict(name="PV1", peak_kw=300, curtailment_cost_per_kwh=0.02)],
            ev_fleets=[dict(name="EV1", max_power_kw=120, arrive_h=17, depart_h=7, energy_kwh=300)],
            flex_loads=[dict(name="S1", kind="shiftable", max_power_kw=50, energy_kwh=100, window_start_h=8, window_end_h=20),
                        dict(name="C1", kind="curtailable", max_power_kw=40, price_per_kwh=0.25)],
        )
    ]  # fmt: skip
    tariff = dict(demand_charge_per_kw=0.4, carbon_price_per_kg=0.05, export_price_per_kwh=0.02)
    fc = make_forecast(np.linspace(800, 1400, 96), quantiles=(0.1, 0.5, 0.9))
    vpp = dict(target_kw=[50.0] * 96, tracking_penalty_per_kwh=0.05)
    objs = {}
    for fast in (True, False):
        cfg = config(feeders, tariff=tariff, vpp=vpp, solve=dict(fast=fast))
        for mode in ("deterministic", "scenario"):
            objs[fast, mode] = dispatch_feeder(cfg, fc, feeder="f1", mode=mode).solve.objective
    for mode in ("deterministic", "scenario"):
        assert objs[True, mode] == pytest.approx(objs[False, mode], rel=1e-6)


def test_enumeration_on_a_coarse_grid() -> None:
    """3 hourly steps, net battery power on a 0.5 kW grid: the LP beats or matches every grid plan,
    and matches the best one (its optimum lies on the grid for this integral data)."""
    load = np.array([3.0, 5.0, 1.0])
    price = np.array([0.1, 0.3, 0.1])
    p_max, e_max, soc0, charge = 2.0, 3.0, 1.0, 0.05
    cfg = config(
        [dict(name="f1", batteries=[_battery(power_kw=p_max, energy_kwh=e_max, soc_initial_frac=soc0 / e_max, cyclic=True)])],
        tariff=_tariff(peak_start_h=1, peak_end_h=2, demand_charge_per_kw=charge, demand_charge_period="horizon"),
    )  # fmt: skip
    lp = dispatch_feeder(cfg, make_forecast(load, **HOURLY), feeder="f1").solve.objective
    grid = np.arange(-p_max, p_max + 1e-9, 0.5)
    best = np.inf
    for p in itertools.product(grid, repeat=3):
        soc = soc0 - np.cumsum(p)
        if soc.min() < -1e-9 or soc.max() > e_max + 1e-9 or abs(soc[-1] - soc0) > 1e-9:
            continue
        imp = load - np.array(p)
        if imp.min() < 0:
            continue
        best = min(best, float(price @ imp + charge * imp.max()))
    assert lp <= best + 1e-9
    assert lp == pytest.approx(best, rel=1e-9)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    load=st.lists(st.floats(0.0, 50.0), min_size=6, max_size=6),
    prices=st.tuples(st.floats(0.01, 0.5), st.floats(0.01, 0.5)),
    p_kw=st.floats(1.0, 30.0),
    e_kwh=st.floats(1.0, 60.0),
    eta=st.floats(0.7, 1.0),
    soc=st.tuples(st.floats(0.0, 0.4), st.floats(0.6, 1.0), st.floats(0.0, 1.0)),
    loss=st.floats(0.0, 0.05),
)
def test_properties_soc_bounds_and_energy_balance(load, prices, p_kw, e_kwh, eta, soc, loss) -> None:
    lo, hi, init = soc
    init = lo + init * (hi - lo)
    cfg = config(
        [dict(name="f1", allow_export=True, batteries=[_battery(power_kw=p_kw, energy_kwh=e_kwh, eta_charge=eta,
              eta_discharge=eta, soc_min_frac=lo, soc_max_frac=hi, soc_initial_frac=init, standing_loss_per_h=loss)])],
        tariff=_tariff(base_price_per_kwh=prices[0], peak_price_per_kwh=prices[1], export_price_per_kwh=0.0,
                       demand_charge_per_kw=0.1),
    )  # fmt: skip
    res = dispatch_feeder(cfg, make_forecast(load, **HOURLY), feeder="f1")
    s = res.schedule
    soc_kwh = s["soc_kwh"].to_numpy()
    assert (soc_kwh >= lo * e_kwh - 1e-6).all() and (soc_kwh <= hi * e_kwh + 1e-6).all()
    assert (np.abs(s["p_kw"].to_numpy()) <= p_kw + 1e-6).all()
    g = res.grid
    # energy balance each interval: import - export = load - battery injection
    np.testing.assert_allclose(
        g["import_kw"] - g["export_kw"], np.asarray(load) - s["p_kw"].to_numpy(), atol=1e-6
    )
    # SoC follows charge and discharge with the efficiencies and standing loss
    prev = np.concatenate([[init * e_kwh], soc_kwh[:-1]])
    expected = (1 - loss) * prev + eta * s["charge_kw"].to_numpy() - s["discharge_kw"].to_numpy() / eta
    np.testing.assert_allclose(soc_kwh, expected, atol=1e-6)
