"""Build, solve and read back the restoration MILP, then prune ties that do not pay.

The objective (see :func:`~gridai.restoration.model.add_objective`) values one unit of
operation cost at ``op_weight`` kW of priority-weighted load, so a switch is operated only when
it restores more than it costs. The strengthened MILP energises every reachable section (see
:func:`~gridai.restoration.model.milp_data`), which may force a tie closed that serves
only a sliver of load (fractional shedding) or none; :func:`prune_ties` reopens such ties, so the
plan is the one the unforced objective prefers.

The MILP is solved by the shared solver layer (:func:`~gridai.optim.solve.solve_model`):
``fast`` (default) hands Pyomo's standard-form arrays to highspy, ``fast=False`` is the plain
Pyomo ``appsi_highs`` path, kept as the reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from gridai.optim.solve import SolveOptions, SolveResult, Status, solve_model
from gridai.restoration.config import RestorationConfig
from gridai.restoration.model import MilpData, build_model, milp_data
from gridai.restoration.network import Fault, RestorationNetwork, energised_buses, live_sources

#: Measured on case33bw's worst fault (line 1), same optimum each time: the RINS and RENS
#: sub-MIPs took 60 % of the time and found nothing branching did not find a few nodes later
#: (2.5 s -> 1.1 s without them); symmetry detection costs more than it saves on these small
#: trees (1.1 s -> 0.8 s).
HIGHS_OPTIONS: dict[str, bool | int | float | str] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_detect_symmetry": False,
}


def solve_options(cfg: RestorationConfig, fast: bool = True) -> SolveOptions:
    """The restoration MILP's solver settings: its time limit and gap, one thread, :data:`HIGHS_OPTIONS`."""
    return SolveOptions(
        fast=fast,
        time_limit_s=cfg.time_limit_s,
        mip_gap=cfg.mip_rel_gap,
        threads=1,
        highs_options=HIGHS_OPTIONS,
    )


@dataclass
class Solution:
    """Read-back of one solved restoration MILP (after pruning).

    Attributes
    ----------
    status:
        Shared solver status value (``"optimal"``, ``"feasible_timeout"``, ``"infeasible"``, ...).
    closed:
        Final state of every branch (bool, positions of ``rn.arrays``); the normal state without a plan.
    served_fraction:
        Served fraction of each bus load [-].
    objective:
        Priority-weighted served load minus ``op_weight`` times the operation cost of ``closed``
        and of the started units [kW-equivalent] (``None`` without a plan).
    islands:
        pandapower storage indices of the grid-forming units started to carry an island.
    """

    status: str
    closed: np.ndarray
    served_fraction: np.ndarray
    objective: float | None
    mip_gap: float
    build_s: float
    solve_s: float  # translation plus HiGHS [s]
    data: MilpData
    islands: tuple[int, ...] = ()

    @property
    def has_plan(self) -> bool:
        return self.status in (Status.OPTIMAL.value, Status.FEASIBLE_TIMEOUT.value)


def extract(
    m: pyo.ConcreteModel, d: MilpData, rn: RestorationNetwork, fault: Fault
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Branch states, served fractions (snapped to 0/1 within 1e-6) and started units of a solved model."""
    a = rn.arrays
    closed = np.zeros(a.n_branch, dtype=bool)
    for j, k in enumerate(d.branches):
        closed[k] = bool(round(pyo.value(m.x[j]))) if d.operable[j] else True
    e = np.array([float(pyo.value(m.e[int(d.section[i])])) for i in range(a.n_bus)]).round()
    frac = e.copy()
    for i in m.LB:
        frac[i] = float(np.clip(pyo.value(m.s[i]), 0.0, 1.0))
    frac = np.where(frac < 1e-6, 0.0, np.where(frac > 1 - 1e-6, 1.0, frac))
    islands = tuple(int(d.island_storage[k]) for k in m.IU if round(pyo.value(m.delta_u[k])))
    return closed, frac * e, islands


def operation_cost(d: MilpData, closed: np.ndarray, islands: tuple[int, ...] = ()) -> float:
    """Operation cost of reaching ``closed`` from the normal state over the model's operable
    branches, plus the black starts of the ``islands`` units [-]."""
    k = d.branches[d.operable]
    switching = float(d.op_cost[d.operable][closed[k] != d.normally_closed[d.operable]].sum())
    return switching + d.island_cost * len(islands)


def plan_value(d: MilpData, closed: np.ndarray, frac: np.ndarray, islands: tuple[int, ...] = ()) -> float:
    """The MILP objective of a plan: ``sum_i w_i p_i s_i - op_weight * cost`` [kW-equivalent]."""
    return float((d.weighted_kw * frac).sum()) - d.op_weight * operation_cost(d, closed, islands)


def prune_ties(
    rn: RestorationNetwork,
    fault: Fault,
    d: MilpData,
    closed: np.ndarray,
    frac: np.ndarray,
    islands: tuple[int, ...] = (),
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Reopen closed normally-open branches that restore less than their operation is worth.

    A tie whose opening darkens only buses with no served load is always reopened. With pure
    loads (``d.pure_loads``: dropping load only raises voltages and lowers flows elsewhere), a
    tie is also reopened when the priority-weighted load it alone supplies is below
    ``op_weight`` times its operation cost; that load is then shed. The tie with the largest
    gain goes first, until none gains. Last, a started unit whose island serves nothing is not started.
    """
    a = rn.arrays
    closed, frac = closed.copy(), frac.copy()
    live = live_sources(rn, fault, islands)
    cost = dict(zip(d.branches.tolist(), d.op_cost.tolist(), strict=True))
    while True:
        base = energised_buses(rn, closed, live)
        best: tuple[float, int, np.ndarray] | None = None
        for k in np.flatnonzero(closed & ~a.closed).tolist():
            trial = closed.copy()
            trial[k] = False
            lost = base & ~energised_buses(rn, trial, live)
            idle = not (np.abs(rn.p_load_kw[lost] * frac[lost]) > 1e-9).any()
            if not idle and not d.pure_loads:
                continue
            gain = d.op_weight * cost.get(k, 0.0) - float((d.weighted_kw[lost] * frac[lost]).sum())
            if (idle or gain > 1e-9) and (best is None or gain > best[0]):
                best = (gain, k, lost)
        if best is None:
            break
        closed[best[1]] = False
        frac[best[2]] = 0.0
    kept = []
    for u in rn.island_units:
        if u.storage in islands:
            island = energised_buses(rn, closed, [u.bus])
            if (np.abs(rn.p_load_kw[island] * frac[island]) > 1e-9).any():
                kept.append(u.storage)
            else:
                frac[island] = 0.0
    return closed, frac, tuple(kept)


def solve_once(
    rn: RestorationNetwork,
    fault: Fault,
    freeze_healthy: bool | None = None,
    strengthened: bool = True,
    fast: bool = True,
    island_derate: dict[int, float] | None = None,
) -> Solution:
    """Build and solve one MILP (``strengthened``: reachable sections energised, valid inequalities)."""
    cfg = rn.config
    t0 = time.perf_counter()
    d = milp_data(rn, fault, freeze_healthy, energise_reachable=strengthened, island_derate=island_derate)
    m = build_model(d, valid_inequalities=strengthened)
    build_s = time.perf_counter() - t0
    res: SolveResult = solve_model(m, solve_options(cfg, fast))
    status, solve_s = res.status.value, res.translate_s + res.solve_s
    if not res.has_solution:
        n_bus = rn.arrays.n_bus
        return Solution(
            status, rn.arrays.closed.copy(), np.zeros(n_bus), None, res.mip_gap, build_s, solve_s, d
        )
    closed, frac, islands = prune_ties(rn, fault, d, *extract(m, d, rn, fault))
    value = plan_value(d, closed, frac, islands)
    return Solution(status, closed, frac, value, res.mip_gap, build_s, solve_s, d, islands)


def solve_restoration(
    rn: RestorationNetwork, fault: Fault, fast: bool = True, island_derate: dict[int, float] | None = None
) -> tuple[Solution, list[str]]:
    """Solve with the healthy area frozen (unless configured otherwise); when that is infeasible
    (the healthy area violates limits already) retry with switching and shedding allowed there."""
    sol = solve_once(rn, fault, fast=fast, island_derate=island_derate)
    notes: list[str] = []
    if sol.status == Status.INFEASIBLE.value and not rn.config.reconfigure_healthy_area:
        notes.append("infeasible with the healthy area frozen (it violates limits already); "
                     "retried with switching and shedding allowed there")  # fmt: skip
        retry = solve_once(rn, fault, freeze_healthy=False, fast=fast, island_derate=island_derate)
        retry.build_s += sol.build_s
        retry.solve_s += sol.solve_s
        sol = retry
    return sol, notes
