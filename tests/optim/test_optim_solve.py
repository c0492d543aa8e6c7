"""The solver layer: fast array path vs plain appsi_highs path, statuses, MILP, time limits."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest

from gridai.dispatch.api import dispatch_feeder
from gridai.dispatch.testing import config, make_forecast
from gridai.optim.linear import LinearModel
from gridai.optim.solve import SolveOptions, Status, solve_model

VALUES = [10.0, 13.0, 7.0, 8.0, 4.0, 9.0]
WEIGHTS = [5.0, 6.0, 4.0, 3.0, 2.0, 5.0]
CAP = 12.0


def _knapsack() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.I = pyo.RangeSet(0, len(VALUES) - 1)
    m.x = pyo.Var(m.I, domain=pyo.Binary)
    m.y = pyo.Var(bounds=(0, 2))  # a continuous var with a range constraint
    m.cap = pyo.Constraint(expr=sum(WEIGHTS[i] * m.x[i] for i in m.I) + m.y <= CAP)
    m.rng = pyo.Constraint(expr=pyo.inequality(0.5, m.y + m.x[0], 3))
    m.obj = pyo.Objective(expr=sum(VALUES[i] * m.x[i] for i in m.I) + 0.1 * m.y, sense=pyo.maximize)
    return m


def _brute_force() -> float:
    best = -np.inf
    for xs in itertools.product((0, 1), repeat=len(VALUES)):
        w = float(np.dot(WEIGHTS, xs))
        for y in np.linspace(0, 2, 201):  # y enters linearly: its optimum is at a vertex of this grid
            if w + y <= CAP + 1e-9 and 0.5 - 1e-9 <= y + xs[0] <= 3 + 1e-9:
                best = max(best, float(np.dot(VALUES, xs)) + 0.1 * y)
    return best


@pytest.mark.parametrize("fast", [True, False], ids=["standard-form", "appsi"])
def test_general_pyomo_milp_matches_brute_force(fast: bool) -> None:
    m = _knapsack()
    res = solve_model(m, SolveOptions(fast=fast, mip_gap=0.0))
    assert res.status == Status.OPTIMAL and res.has_solution
    assert res.objective == pytest.approx(_brute_force(), rel=1e-9)
    assert pyo.value(m.obj) == pytest.approx(res.objective, rel=1e-9)  # loaded onto the Pyomo vars
    assert res.path == ("fast-standard-form" if fast else "appsi_highs")


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_infeasible_status(fast: bool) -> None:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 1))
    m.c = pyo.Constraint(expr=m.x >= 2)
    m.o = pyo.Objective(expr=m.x)
    res = solve_model(m, SolveOptions(fast=fast))
    assert res.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED)
    assert not res.ok and not res.has_solution


def test_linear_model_pyomo_view_matches_arrays() -> None:
    """The Pyomo components built from the blocks evaluate to the array objective."""
    lm = LinearModel("t")
    x = lm.add_var("x", (2, 3), 0.0, np.array([[1.0], [2.0]]))
    lm.add_rows("sum", [(1.0, x.idx[:, 0]), (1.0, x.idx[:, 1]), (-1.0, x.idx[:, 2])], -np.inf, [0.5, 1.0])
    lm.add_cost("a", x.idx, -np.arange(6.0).reshape(2, 3))
    res = solve_model(lm, SolveOptions())
    pm = lm.to_pyomo()
    assert pyo.value(pm.objective) == pytest.approx(res.objective)
    assert lm.cost_breakdown()["a"] == pytest.approx(res.objective)
    plain = LinearModel("t2")
    x2 = plain.add_var("x", (2, 3), 0.0, np.array([[1.0], [2.0]]))
    plain.add_rows(
        "sum", [(1.0, x2.idx[:, 0]), (1.0, x2.idx[:, 1]), (-1.0, x2.idx[:, 2])], -np.inf, [0.5, 1.0]
    )
    plain.add_cost("a", x2.idx, -np.arange(6.0).reshape(2, 3))
    res2 = solve_model(plain, SolveOptions(fast=False))
    assert res2.objective == pytest.approx(res.objective, rel=1e-9)
    np.testing.assert_allclose(plain.dual("sum"), lm.dual("sum"), atol=1e-9)


def test_no_simultaneous_charge_discharge_with_negative_prices() -> None:
    """At negative prices an LP battery burns energy by charging and discharging at once;
    the binary formulation forbids it (and both paths agree on the MILP optimum)."""
    bat = dict(
        name="B1", power_kw=10.0, energy_kwh=20.0, eta_charge=0.9, eta_discharge=0.9, soc_initial_frac=0.5
    )
    tariff = dict(base_price_per_kwh=-0.05, peak_price_per_kwh=0.3, peak_start_h=4, peak_end_h=6,
                  export_price_per_kwh=-0.1, carbon_price_per_kg=0.0)  # fmt: skip
    fc = make_forecast([5.0] * 6, freq="1h")
    lp = dispatch_feeder(
        config([dict(name="f1", allow_export=True, batteries=[bat])], tariff=tariff), fc, feeder="f1"
    )
    both = (lp.schedule["charge_kw"] > 1e-6) & (lp.schedule["discharge_kw"] > 1e-6)
    assert both.any()
    objs = []
    for fast in (True, False):
        cfg = config(
            [dict(name="f1", allow_export=True, batteries=[{**bat, "no_simultaneous": True}])],
            tariff=tariff,
            solve=dict(fast=fast, mip_gap=0.0),
        )
        milp = dispatch_feeder(cfg, fc, feeder="f1")
        s = milp.schedule
        assert not ((s["charge_kw"] > 1e-6) & (s["discharge_kw"] > 1e-6)).any()
        assert milp.solve.objective >= lp.solve.objective - 1e-9
        objs.append(milp.solve.objective)
    assert objs[0] == pytest.approx(objs[1], rel=1e-6)


def test_time_limit_returns_flagged_best_plan() -> None:
    """A hard random MILP with a tiny time limit: the best plan found is loaded and flagged."""
    rng = np.random.default_rng(3)
    n, k = 60, 8
    w = rng.integers(5, 40, size=(k, n)).astype(float)
    v = rng.integers(5, 60, size=n).astype(float)
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(n), domain=pyo.Binary)
    m.c = pyo.Constraint(
        range(k), rule=lambda m, j: sum(w[j, i] * m.x[i] for i in range(n)) <= w[j].sum() / 3
    )
    m.o = pyo.Objective(expr=sum(v[i] * m.x[i] for i in range(n)), sense=pyo.maximize)
    res = solve_model(m, SolveOptions(time_limit_s=0.05, mip_gap=0.0))  # the optimum takes ~3 s
    assert res.status == Status.FEASIBLE_TIMEOUT
    assert res.has_solution and res.ok and res.mip_gap > 0
    assert pyo.value(m.o) == pytest.approx(res.objective, rel=1e-9)


def test_mixed_thread_requests_in_one_process_all_solve() -> None:
    """HiGHS sizes one thread pool per process at its first run; highspy 1.16 fails every later
    run that asks for another count ("Not Set"). Found when a default-threads dispatch made the
    day-ahead job's threads=1 solves fail. Run in a fresh process: this one's pool is already sized."""
    here = Path(__file__).resolve().parent  # import this module (and its support import) as pytest does
    code = (
        f"import sys; sys.path[:0] = [{str(here)!r}, {str(here.parent)!r}]\n"
        "from test_optim_solve import _knapsack\n"
        "from gridai.optim.solve import SolveOptions, solve_model\n"
        "for t in (None, 1, 2, None, 1):\n"
        "    r = solve_model(_knapsack(), SolveOptions(threads=t))\n"
        "    print(t, r.status.value)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    statuses = [line.split()[-1] for line in out.stdout.strip().splitlines()[-5:]]
    assert statuses == ["optimal"] * 5, out.stdout + out.stderr
