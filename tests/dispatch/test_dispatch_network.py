"""LinDistFlow against pandapower's AC power flow on case33bw, network limits, AC check states."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridai.dispatch.api import dispatch_feeder
from gridai.dispatch.testing import config, make_forecast
from gridai.exceptions import GridAIInfeasibleError
from gridai.grid.ac_check import run_ac_check
from gridai.grid.topology import feeder_arrays

from support import NetFactory


def _net_cfg(peak_loading: float, v_min: float = 0.80, batteries=(), ac: int = 4, margin: float = 0.0):
    network = dict(network="case33bw", peak_loading=peak_loading, v_min_pu=v_min, v_margin_pu=margin,
                   ac_check_intervals=ac)  # fmt: skip
    return config(
        [dict(name="f1", network=network, batteries=list(batteries))], tariff=dict(carbon_price_per_kg=0.0)
    )


@pytest.mark.parametrize(
    ("loading", "max_dv"),
    [pytest.param(1.0, 0.005, id="nominal"), pytest.param(1.5, 0.010, id="150pct")],
)
def test_lindistflow_vs_pandapower_ac(case33bw: NetFactory, loading: float, max_dv: float) -> None:
    """Without assets, LinDistFlow voltages at every bus are within max_dv of AC and never below it
    (it drops the losses, so it overestimates voltage: ~0.007 pu at 150 % load)."""
    case33 = case33bw()
    fc = make_forecast([1.0, 0.8, 0.9, 1.0], freq="1h")
    res = dispatch_feeder(_net_cfg(loading), fc, feeder="f1", net=case33)
    net = res.network["f1"]
    assert net["lindistflow_vs_ac_max_dv_pu"] <= max_dv
    v = res.voltages
    assert v is not None and len(v) == 4 * 33
    assert (v["v_lindistflow_pu"] >= v["v_ac_pu"] - 1e-6).all()
    peak = v[v["time"] == v["time"].min()]
    # the worst bus of case33bw (bus 17) at nominal load is ~0.913 pu in the AC solution
    if loading == 1.0:
        assert peak["v_ac_pu"].min() == pytest.approx(0.9131, abs=2e-3)


def test_voltage_limit_infeasible_explains_buses(case33bw: NetFactory) -> None:
    case33 = case33bw()
    fc = make_forecast([1.0, 1.0], freq="1h")
    with pytest.raises(GridAIInfeasibleError) as err:
        dispatch_feeder(_net_cfg(1.2, v_min=0.95, margin=0.01), fc, feeder="f1", net=case33)
    msg = str(err.value)
    assert "squared bus voltage" in msg and "bus 17" in msg
    assert err.value.exit_code == 3


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(bus=st.integers(1, 32), power=st.floats(100.0, 1500.0), loading=st.floats(0.6, 1.2))
def test_property_lindistflow_voltages_within_limits(
    case33bw: NetFactory, bus: int, power: float, loading: float
) -> None:
    """A battery anywhere, any size: every LinDistFlow voltage stays within [v_min + margin, v_max]."""
    case33 = case33bw()
    v_min, margin = 0.85, 0.01
    bat = dict(name="B1", bus=bus, power_kw=power, energy_kwh=2 * power)
    fc = make_forecast([0.6, 1.0, 0.8, 0.7], freq="6h")
    res = dispatch_feeder(
        _net_cfg(loading, v_min=v_min, batteries=[bat], ac=1, margin=margin), fc, feeder="f1", net=case33
    )
    band = res.voltage_band
    assert band is not None
    assert (band["v_min_pu"] >= v_min + margin - 1e-6).all() and (band["v_max_pu"] <= 1.05 + 1e-6).all()


def test_ac_check_applies_branch_states(case33bw: NetFactory) -> None:
    """Opening a line de-energises the buses behind it; closing a tie re-feeds them (restoration use)."""
    case33 = case33bw()
    arrays = feeder_arrays(case33, name="case33bw")
    base = run_ac_check(case33, arrays=arrays, closed=arrays.closed)
    assert base.converged and base.v_min_pu == pytest.approx(0.9131, abs=2e-3)
    closed = arrays.closed.copy()
    line = int(np.flatnonzero((arrays.kind == "line") & (arrays.element == 17))[0])  # line 17: bus 17 -> 18
    closed[line] = False
    cut = run_ac_check(case33, arrays=arrays, closed=closed)
    assert cut.converged and np.isnan(cut.vm_pu.loc[18])
    tie = int(np.flatnonzero(~arrays.closed)[0])
    closed[tie] = True
    assert run_ac_check(case33, arrays=arrays, closed=closed).converged
    # injections: 1 MW at the far end raises its voltage
    up = run_ac_check(case33, {17: 1.0})
    assert up.vm_pu.loc[17] > base.vm_pu.loc[17]
    assert case33.line["in_service"].sum() == 32  # the caller's net is untouched
