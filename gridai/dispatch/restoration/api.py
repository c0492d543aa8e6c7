"""Restore service after a fault: isolate, solve the MILP, order the switching, verify.

Entry point :func:`restore`; the result :class:`RestorationPlan` serialises to the JSON the
``gridai restore`` command prints.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandapower as pp
import pyomo.environ as pyo

from gridai.dispatch.restoration.config import RestorationConfig
from gridai.dispatch.restoration.explain import explain
from gridai.dispatch.restoration.model import MilpData, build_model, healthy_buses, milp_data
from gridai.dispatch.restoration.network import Fault, RestorationNetwork, locate_fault, prepare_network
from gridai.dispatch.restoration.sequence import SwitchingStep, switching_sequence
from gridai.dispatch.restoration.solver import Status, solve_milp
from gridai.dispatch.restoration.verify import Verdict, verify_sequence

logger = logging.getLogger(__name__)


@dataclass
class RestorationPlan:
    """A restoration plan and its verification.

    Attributes
    ----------
    status:
        Solver outcome (:class:`~gridai.dispatch.solve.Status`): ``"optimal"``,
        ``"feasible_timeout"`` (best plan found at the time limit, flagged), ``"infeasible"``, ...
    ok:
        A plan exists and passed verification (final state and every intermediate state).
    closed:
        Final state of every branch (bool, branch positions of ``rn.arrays``).
    served_fraction:
        Served fraction of each bus load [-].
    interrupted:
        Buses that lost supply with the fault (before restoration).
    sequence:
        Ordered switching steps.
    verification, step_verifications:
        Verdict on the final state and on each intermediate state.
    """

    rn: RestorationNetwork
    fault: Fault
    status: str
    ok: bool
    closed: np.ndarray
    served_fraction: np.ndarray
    interrupted: np.ndarray
    sequence: list[SwitchingStep]
    verification: Verdict
    step_verifications: list[Verdict]
    explanation: str
    solve_s: float
    build_s: float
    objective: float | None = None
    mip_gap: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def served_kw(self) -> np.ndarray:
        return self.rn.p_load_kw * self.served_fraction

    @property
    def restored_kw(self) -> float:
        return float(self.served_kw[self.interrupted].sum())

    @property
    def interrupted_kw(self) -> float:
        return float(self.rn.p_load_kw[self.interrupted].sum())

    @property
    def unserved_kw(self) -> float:
        return float((self.rn.p_load_kw - self.served_kw).clip(min=0.0).sum())

    @property
    def time_to_restore_min(self) -> float:
        return self.sequence[-1].done_at_min if self.sequence else 0.0

    def changed_branches(self) -> list[int]:
        return [int(k) for k in np.flatnonzero(self.closed != self.rn.arrays.closed)]

    def to_dict(self) -> dict[str, Any]:
        """JSON summary (kW, minutes, seconds)."""
        a = self.rn.arrays
        per_bus = [
            {
                "bus": int(a.bus[i]),
                "load_kw": round(float(self.rn.p_load_kw[i]), 3),
                "served_kw": round(float(self.served_kw[i]), 3),
                "unserved_kw": round(float(self.rn.p_load_kw[i] - self.served_kw[i]), 3),
                "interrupted": bool(self.interrupted[i]),
            }
            for i in range(a.n_bus)
            if self.rn.p_load_kw[i] > 0
        ]
        return {
            "network": self.rn.name,
            "fault": {"lines": list(self.fault.lines), "buses": list(self.fault.buses)},
            "status": self.status,
            "ok": self.ok,
            "restored_kw": round(self.restored_kw, 3),
            "unserved_kw": round(self.unserved_kw, 3),
            "interrupted_kw": round(self.interrupted_kw, 3),
            "total_load_kw": round(float(self.rn.p_load_kw.clip(min=0).sum()), 3),
            "time_to_restore_min": round(self.time_to_restore_min, 2),
            "switch_sequence": [s.to_dict() for s in self.sequence],
            "final_open_branches": [self.rn.branch_label(int(k)) for k in np.flatnonzero(~self.closed)],
            "verification": {
                **self.verification.to_dict(),
                "steps_passed": all(v.passed for v in self.step_verifications),
                "steps_checked": len(self.step_verifications),
                "step_problems": sorted({p for v in self.step_verifications for p in v.problems}),
            },
            "explanation": self.explanation,
            "solve_s": round(self.solve_s, 4),
            "build_s": round(self.build_s, 4),
            "objective": self.objective,
            "mip_gap": self.mip_gap,
            "notes": list(self.notes),
            "per_bus": per_bus,
        }


def _extract(
    m: pyo.ConcreteModel, d: MilpData, rn: RestorationNetwork, fault: Fault
) -> tuple[np.ndarray, np.ndarray]:
    a = rn.arrays
    closed = np.zeros(a.n_branch, dtype=bool)
    for j, k in enumerate(d.branches):
        closed[k] = bool(round(pyo.value(m.x[j]))) if d.operable[j] else True
    e = np.array([float(pyo.value(m.e[int(d.section[i])])) for i in range(a.n_bus)]).round()
    frac = e.copy()
    for i in m.LB:
        frac[i] = float(np.clip(pyo.value(m.s[i]), 0.0, 1.0))
    frac = np.where(frac < 1e-6, 0.0, np.where(frac > 1 - 1e-6, 1.0, frac))
    return closed, frac * e


def _live_sources(rn: RestorationNetwork, fault: Fault) -> list[int]:
    dead = {int(rn.section[b]) for b in fault.dead_buses}
    return [int(s) for s in rn.arrays.slack if int(rn.section[s]) not in dead]


def _supplied(rn: RestorationNetwork, closed: np.ndarray, live: list[int]) -> np.ndarray:
    a = rn.arrays
    g = nx.Graph()
    g.add_nodes_from(range(a.n_bus))
    g.add_edges_from(zip(a.f[closed].tolist(), a.t[closed].tolist(), strict=True))
    mask = np.zeros(a.n_bus, dtype=bool)
    for s in live:
        mask[list(nx.node_connected_component(g, s))] = True
    return mask


def drop_idle_ties(rn: RestorationNetwork, fault: Fault, closed: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Leave open every normally-open branch whose closing only energises buses with no served load.

    The MILP may energise every reachable section (see ``milp_data``); a tie closed just to
    energise sections whose load is all shed costs an operation and restores nothing.
    """
    a = rn.arrays
    closed = closed.copy()
    live = _live_sources(rn, fault)
    served = rn.p_load_kw * frac > 1e-9
    changed = True
    while changed:
        changed = False
        base = _supplied(rn, closed, live)
        for k in np.flatnonzero(closed & ~a.closed).tolist():
            trial = closed.copy()
            trial[k] = False
            lost = base & ~_supplied(rn, trial, live)
            if not served[lost].any():
                closed = trial
                changed = True
                break
    return closed


def solve_restoration(
    rn: RestorationNetwork, fault: Fault, fast: bool = True
) -> tuple[str, np.ndarray, np.ndarray, float, float, Any, Any, list[str]]:
    """Build and solve the MILP; retry with the healthy area reconfigurable when frozen is infeasible."""
    cfg = rn.config
    notes: list[str] = []
    t0 = time.perf_counter()
    d = milp_data(rn, fault)
    m = build_model(d)
    build_s = time.perf_counter() - t0
    out = solve_milp(m, cfg.time_limit_s, cfg.mip_rel_gap, fast=fast)
    solve_s = out.solve_s
    if out.status == Status.INFEASIBLE.value and not cfg.reconfigure_healthy_area:
        notes.append("infeasible with the healthy area frozen (it violates limits already); "
                     "retried with switching and shedding allowed there")  # fmt: skip
        t0 = time.perf_counter()
        d = milp_data(rn, fault, freeze_healthy=False)
        m = build_model(d)
        build_s += time.perf_counter() - t0
        out = solve_milp(m, cfg.time_limit_s, cfg.mip_rel_gap, fast=fast)
        solve_s += out.solve_s
    obj = out.objective
    if out.has_solution:
        closed, frac = _extract(m, d, rn, fault)
        pruned = drop_idle_ties(rn, fault, closed, frac)
        if obj is not None and (pruned != closed).any():
            # each tie left open saves its operation cost in the secondary objective
            saved = {int(k) for k in np.flatnonzero(closed & ~pruned)}
            obj += d.op_weight * sum(float(d.op_cost[j]) for j, k in enumerate(d.branches) if int(k) in saved)
            closed = pruned
    else:
        closed, frac = rn.arrays.closed.copy(), np.zeros(rn.arrays.n_bus)
    return out.status, closed, frac, build_s, solve_s, obj, out.mip_gap, notes


def restore(
    net: pp.pandapowerNet | RestorationNetwork,
    fault_lines: list[int] | tuple[int, ...] = (),
    fault_buses: list[int] | tuple[int, ...] = (),
    config: RestorationConfig | None = None,
    name: str = "",
    fast: bool = True,
) -> RestorationPlan:
    """Isolate the faulted lines/buses and restore as much priority-weighted load as possible.

    Raises
    ------
    GridAIDataError
        Unknown line/bus/switch, no source, meshed normal state.
    """
    rn = (
        net
        if isinstance(net, RestorationNetwork)
        else prepare_network(net, config or RestorationConfig(), name)
    )
    fault = locate_fault(rn, list(fault_lines), list(fault_buses))
    status, closed, frac, build_s, solve_s, obj, gap, notes = solve_restoration(rn, fault, fast=fast)
    interrupted = ~healthy_buses(rn, fault)
    # buses dark in the normal state (no source at all) were not interrupted by this fault
    interrupted &= _normally_supplied(rn)
    has_plan = status in (Status.OPTIMAL.value, Status.FEASIBLE_TIMEOUT.value)
    if has_plan:
        served_kw = rn.p_load_kw * frac
        steps = switching_sequence(rn, fault, closed, served_kw)
        final, per_step = verify_sequence(rn, fault, steps, frac, ac_every_step=rn.config.ac_check_steps)
    else:
        steps = []
        final = Verdict(passed=False, problems=[f"no plan: the MILP is {status}"])
        per_step = []
    ok = has_plan and final.passed and all(v.passed for v in per_step)
    if has_plan and not ok:
        logger.warning("restoration plan for %s failed verification: %s", fault, final.problems)
    text = explain(rn, fault, frac, interrupted)
    if not has_plan:
        text = f"no restoration plan ({status}); " + text
    logger.info(
        "restoration %s: %s, restored %.0f kW in %.3f s",
        rn.name,
        status,
        float((rn.p_load_kw * frac)[interrupted].sum()),
        solve_s,
    )
    return RestorationPlan(
        rn=rn, fault=fault, status=status, ok=ok, closed=closed, served_fraction=frac, interrupted=interrupted,
        sequence=steps, verification=final, step_verifications=per_step, explanation=text, solve_s=solve_s,
        build_s=build_s, objective=obj, mip_gap=gap, notes=notes,
    )  # fmt: skip


def _normally_supplied(rn: RestorationNetwork) -> np.ndarray:
    no_fault = Fault(lines=(), buses=(), open_branches=(), dead_buses=())
    return healthy_buses(rn, no_fault)
