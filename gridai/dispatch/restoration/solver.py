"""Solve the restoration MILP with HiGHS through Pyomo's ``appsi_highs`` interface.

Kept in one small function so that it can move to the shared solver layer
(``gridai.dispatch.solve``) without touching the model or the plan code.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pyomo.environ as pyo
from pyomo.contrib.appsi.base import TerminationCondition
from pyomo.contrib.appsi.solvers import Highs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MilpOutcome:
    """Result of one MILP solve.

    Attributes
    ----------
    status:
        ``"optimal"``, ``"time_limit"`` (best feasible plan loaded, flagged), ``"infeasible"``
        or ``"error"``.
    objective, bound:
        Best objective found and best bound [kW-equivalent] (``None`` when unknown).
    solve_s:
        Wall time of translation plus HiGHS [s].
    """

    status: str
    objective: float | None
    bound: float | None
    solve_s: float

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit")


def solve_milp(
    m: pyo.ConcreteModel, time_limit_s: float, mip_rel_gap: float, mip_abs_gap: float
) -> MilpOutcome:
    """Solve ``m`` with appsi_highs, load the best solution found, map the status."""
    t0 = time.perf_counter()
    opt = Highs()
    opt.config.load_solution = False
    opt.config.stream_solver = False
    opt.config.time_limit = time_limit_s
    opt.config.mip_gap = mip_rel_gap
    opt.highs_options = {"mip_abs_gap": mip_abs_gap, "threads": 1, "output_flag": False}
    res = opt.solve(m)
    tc = res.termination_condition
    if tc == TerminationCondition.optimal:
        status = "optimal"
    elif tc in (TerminationCondition.maxTimeLimit, TerminationCondition.maxIterations) and (
        res.best_feasible_objective is not None
    ):
        status = "time_limit"
    elif tc in (TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded):
        status = "infeasible"
    elif tc == TerminationCondition.maxTimeLimit:
        status = "time_limit_no_plan"
    else:
        status = "error"
    if status in ("optimal", "time_limit"):
        res.solution_loader.load_vars()
    solve_s = time.perf_counter() - t0
    logger.debug("restoration MILP %s in %.3f s", status, solve_s)
    return MilpOutcome(
        status=status, objective=res.best_feasible_objective, bound=res.best_objective_bound, solve_s=solve_s
    )
