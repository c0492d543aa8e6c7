"""One power-flow call (gridai.grid.powerflow) and the three checks that use it."""

from __future__ import annotations

import numpy as np
import pytest

from gridai.grid.ac_check import run_ac_check
from gridai.grid.health import HealthConfig, run_power_flow
from gridai.grid.powerflow import PowerFlowError, power_flow

from support import NetFactory


def test_converged_results_land_on_the_net(case33bw: NetFactory) -> None:
    net = case33bw()
    res = power_flow(net, max_iteration=30)
    assert res.converged and res.error_type == ""
    assert net.res_bus["vm_pu"].min() == pytest.approx(0.9131, abs=1e-3)  # case33bw's known minimum


def test_divergence_is_an_outcome_not_an_exception(case33bw: NetFactory) -> None:
    net = case33bw()
    net.load["p_mw"] *= 30.0  # far past voltage collapse
    res = power_flow(net, max_iteration=30)
    assert not res.converged and res.error_type == "LoadflowNotConverged"


def test_other_pandapower_failures_are_typed(case33bw: NetFactory) -> None:
    with pytest.raises(PowerFlowError) as info:
        power_flow(case33bw(), algorithm="no-such-algorithm")
    assert info.value.details["error_type"] and info.value.__cause__ is not None


def test_every_caller_reports_divergence_the_same_way(case33bw: NetFactory) -> None:
    net = case33bw()
    ac = run_ac_check(net, load_scale=30.0)
    assert not ac.converged and ac.violations == ["AC power flow did not converge (voltage collapse?)"]
    total_kw = float(net.load["p_mw"].sum()) * 1000.0
    row = run_power_flow(case33bw(), 30.0 * total_kw, None, HealthConfig())
    assert row["converged"] is False and row["flag"] == "not converged"
    ok = run_power_flow(case33bw(), total_kw, None, HealthConfig())
    assert ok["converged"] is True and np.isfinite(ok["v_min_pu"])
    from gridai.restoration import RestorationConfig
    from gridai.restoration.network import NO_FAULT, prepare_network
    from gridai.restoration.sequence import apply_steps
    from gridai.restoration.verify import verify_state

    heavy = case33bw()
    heavy.load["p_mw"] *= 30.0
    rn = prepare_network(heavy, RestorationConfig(), "case33bw x30")
    v = verify_state(rn, NO_FAULT, apply_steps(rn, []), np.ones(rn.arrays.n_bus))
    assert v.checks["ac_power_flow"] is False
    assert "AC power flow does not converge (LoadflowNotConverged)" in v.problems
