"""Restore service after a fault: isolate, solve the MILP, order the switching, verify.

Entry point :func:`restore`; the result :class:`RestorationPlan` serialises to the JSON the
``gridai restore`` command prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandapower as pp

from gridai.dispatch.restoration.config import RestorationConfig
from gridai.dispatch.restoration.explain import explain
from gridai.dispatch.restoration.model import healthy_buses
from gridai.dispatch.restoration.network import Fault, RestorationNetwork, locate_fault, prepare_network
from gridai.dispatch.restoration.optimise import solve_restoration
from gridai.dispatch.restoration.sequence import SwitchingStep, switching_sequence
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
    sol, notes = solve_restoration(rn, fault, fast=fast)
    status, closed, frac = sol.status, sol.closed, sol.served_fraction
    interrupted = ~healthy_buses(rn, fault)
    # buses dark in the normal state (no source at all) were not interrupted by this fault
    interrupted &= _normally_supplied(rn)
    has_plan = sol.has_plan
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
        sol.solve_s,
    )
    return RestorationPlan(
        rn=rn, fault=fault, status=status, ok=ok, closed=closed, served_fraction=frac, interrupted=interrupted,
        sequence=steps, verification=final, step_verifications=per_step, explanation=text, solve_s=sol.solve_s,
        build_s=sol.build_s, objective=sol.objective, mip_gap=sol.mip_gap, notes=notes,
    )  # fmt: skip


def _normally_supplied(rn: RestorationNetwork) -> np.ndarray:
    no_fault = Fault(lines=(), buses=(), open_branches=(), dead_buses=())
    return healthy_buses(rn, no_fault)
