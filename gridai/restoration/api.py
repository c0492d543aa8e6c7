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

from gridai.restoration.config import RestorationConfig
from gridai.restoration.explain import explain
from gridai.restoration.model import healthy_buses, normally_supplied
from gridai.restoration.network import (
    Fault,
    RestorationNetwork,
    energised_buses,
    locate_fault,
    prepare_network,
)
from gridai.restoration.optimise import Solution, solve_restoration
from gridai.restoration.sequence import SwitchingStep, switching_sequence
from gridai.restoration.verify import Verdict, verify_sequence

logger = logging.getLogger(__name__)

#: Re-solves allowed when an island's AC losses exceed ``island_power_margin`` (each lowers the
#: unit's MILP limit by the measured excess; one is usually enough).
ISLAND_LOSS_RETRIES = 2


@dataclass
class RestorationPlan:
    """A restoration plan and its verification.

    Attributes
    ----------
    status:
        Solver outcome (:class:`~gridai.optim.solve.Status`): ``"optimal"``,
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
    islands:
        pandapower storage indices of the grid-forming units that carry an island.
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
    islands: tuple[int, ...] = ()

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

    def _islands(self) -> list[dict[str, Any]]:
        out = []
        for u in self.rn.island_units:
            if u.storage in self.islands:
                island = energised_buses(self.rn, self.closed, [u.bus])
                out.append({
                    "storage": u.storage, "bus": self.rn.bus_label(u.bus),
                    "served_kw": round(float(self.served_kw[island].sum()), 3),
                    "p_limit_kw": round(u.p_max_kw, 3), "energy_kwh": round(u.energy_kwh, 3),
                    "buses": [int(b) for b in self.rn.arrays.bus[island]],
                })  # fmt: skip
        return out

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
            "islands": self._islands(),
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
    derate: dict[int, float] = {}
    build_s = solve_s = 0.0
    loss_notes: list[str] = []
    for attempt in range(1 + ISLAND_LOSS_RETRIES):
        sol, solve_notes = solve_restoration(rn, fault, fast=fast, island_derate=derate)
        build_s, solve_s = build_s + sol.build_s, solve_s + sol.solve_s
        steps, final, per_step = _sequence_and_verify(rn, fault, sol)
        over = {k: x for v in [final, *per_step] for k, x in v.island_load.items() if x > 1.0 + 1e-6}
        if not over or attempt == ISLAND_LOSS_RETRIES:
            break
        # the island's AC losses exceed the margin: lower that unit's MILP limit by the excess
        for k, x in over.items():
            derate[k] = derate.get(k, 1.0) / x * 0.995
        loss_notes.append("island losses above island_power_margin for storage " + ", ".join(map(str, sorted(over)))
                     + "; re-solved with the unit's limit lowered by the AC excess")  # fmt: skip
    sol.build_s, sol.solve_s = build_s, solve_s
    notes = loss_notes + solve_notes
    status, closed, frac = sol.status, sol.closed, sol.served_fraction
    interrupted = ~healthy_buses(rn, fault)
    # buses dark in the normal state (no source at all) were not interrupted by this fault
    interrupted &= normally_supplied(rn)
    has_plan = sol.has_plan
    ok = has_plan and final.passed and all(v.passed for v in per_step)
    if has_plan and not ok:
        logger.warning("restoration plan for %s failed verification: %s", fault, final.problems)
    text = explain(rn, fault, frac, interrupted, sol.islands if has_plan else ())
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
        islands=sol.islands if has_plan else (),
    )  # fmt: skip


def _sequence_and_verify(
    rn: RestorationNetwork, fault: Fault, sol: Solution
) -> tuple[list[SwitchingStep], Verdict, list[Verdict]]:
    """Order the plan's operations and verify the final and every intermediate state."""
    if not sol.has_plan:
        return [], Verdict(passed=False, problems=[f"no plan: the MILP is {sol.status}"]), []
    steps = switching_sequence(rn, fault, sol.closed, rn.p_load_kw * sol.served_fraction, sol.islands)
    final, per_step = verify_sequence(
        rn, fault, steps, sol.served_fraction, ac_every_step=rn.config.ac_check_steps
    )
    return steps, final, per_step
