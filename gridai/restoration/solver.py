"""Solve the restoration MILP with HiGHS through the shared solver layer.

``fast`` (default) hands Pyomo's standard-form arrays to highspy; ``fast=False`` is the
plain Pyomo ``appsi_highs`` path, kept as the reference (see ``gridai.optim.solve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pyomo.environ as pyo

from gridai.optim.solve import SolveOptions, Status, solve_model

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MilpOutcome:
    """Result of one MILP solve.

    Attributes
    ----------
    status:
        The shared :class:`~gridai.optim.solve.Status` value: ``"optimal"``,
        ``"feasible_timeout"`` (best plan found at the time limit, flagged), ``"infeasible"``,
        ``"timeout_no_solution"``, ``"error"``.
    objective:
        Best objective found [kW-equivalent] (``None`` without a solution).
    mip_gap:
        Relative gap of the returned solution [-].
    solve_s:
        Translation plus HiGHS time [s].
    """

    status: str
    objective: float | None
    mip_gap: float
    solve_s: float
    has_solution: bool


#: Measured on case33bw's worst fault (line 1), same optimum each time: the RINS and RENS
#: sub-MIPs took 60 % of the time and found nothing branching did not find a few nodes later
#: (2.5 s -> 1.1 s without them); symmetry detection costs more than it saves on these small
#: trees (1.1 s -> 0.8 s).
_HIGHS_OPTIONS: dict[str, bool | int | float | str] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_detect_symmetry": False,
}


def solve_milp(
    m: pyo.ConcreteModel, time_limit_s: float, mip_rel_gap: float, fast: bool = True
) -> MilpOutcome:
    """Solve ``m``, load the best solution found onto its variables, map the status."""
    res = solve_model(
        m,
        SolveOptions(
            fast=fast, time_limit_s=time_limit_s, mip_gap=mip_rel_gap, threads=1, highs_options=_HIGHS_OPTIONS
        ),
    )
    has = bool(res.has_solution)
    return MilpOutcome(
        status=str(res.status.value),
        objective=float(res.objective) if has else None,
        mip_gap=float(res.mip_gap),
        solve_s=float(res.translate_s + res.solve_s),
        has_solution=has,
    )


__all__ = ["MilpOutcome", "Status", "solve_milp"]
