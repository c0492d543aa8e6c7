"""One solver-neutral result for every optimisation in gridai, and the HiGHS solve paths.

Two paths, same optimum (tested to 1e-6 relative):

``fast`` (default)
    The model is turned into arrays without per-constraint Python work and handed to
    ``highspy`` with ``Highs.passModel(HighsLp)``. A :class:`~gridai.optim.linear.LinearModel`
    already holds its constraint families as sparse blocks; a general Pyomo ``ConcreteModel``
    (e.g. the restoration MILP) goes through Pyomo's standard-form compiler
    (``pyomo.repn.plugins.standard_form.LinearStandardFormCompiler``, mixed form). The
    solution is loaded back onto the Pyomo variables.
``plain``
    Pyomo's own ``appsi_highs`` interface on the Pyomo components (for a LinearModel, after
    :meth:`~gridai.optim.linear.LinearModel.to_pyomo`). Slow on large models; the reference.

On a time-out the best feasible solution is loaded and the status is ``FEASIBLE_TIMEOUT``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import highspy
import numpy as np
import pyomo.environ as pyo
from pydantic import Field

from gridai.config import StrictModel
from gridai.optim.linear import LinearModel, LpArrays

logger = logging.getLogger(__name__)


class Status(StrEnum):
    """Solver-neutral outcome of a solve."""

    OPTIMAL = "optimal"
    FEASIBLE_TIMEOUT = "feasible_timeout"  # time limit hit, best feasible plan returned (flagged)
    TIMEOUT_NO_SOLUTION = "timeout_no_solution"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    ERROR = "error"


class SolveOptions(StrictModel):
    """How to solve: path, limits and tolerances."""

    fast: bool = Field(
        default=True, description="Array path to highspy (true) or Pyomo's appsi_highs interface (false)."
    )
    time_limit_s: float | None = Field(
        default=None, gt=0, description="Wall-clock limit [s]; best feasible plan is kept."
    )
    mip_gap: float = Field(default=1e-4, ge=0, description="Relative MIP gap at which HiGHS stops [-].")
    threads: int | None = Field(
        default=None,
        ge=1,
        description="HiGHS threads (None: HiGHS default). HiGHS sizes one thread pool per process at its "
        "first solve; a later request for another count is not applied (see _scheduler_threads).",
    )
    presolve: bool = Field(default=True, description="Run HiGHS presolve.")
    log: bool = Field(default=False, description="Print the HiGHS log.")
    highs_options: dict[str, bool | int | float | str] = Field(
        default_factory=dict,
        description="Further HiGHS options by name (e.g. mip_heuristic_run_rins), passed as given.",
    )


@dataclass
class SolveResult:
    """Outcome of one solve, whatever the path.

    Attributes
    ----------
    status:
        :class:`Status`.
    objective:
        Objective value of the loaded solution (``nan`` when none).
    mip_gap:
        Relative MIP gap reached (0 for LPs).
    build_s, translate_s, solve_s:
        Seconds to build the model, to turn it into solver input, and in the solver
        (including loading the solution back).
    has_solution:
        A primal solution is loaded on the variables.
    path:
        ``"fast-arrays"``, ``"fast-standard-form"`` or ``"appsi_highs"``.
    """

    status: Status
    objective: float = float("nan")
    mip_gap: float = 0.0
    build_s: float = 0.0
    translate_s: float = 0.0
    solve_s: float = 0.0
    message: str = ""
    has_solution: bool = False
    path: str = ""
    solver_s: float = 0.0  # inside HiGHS (Highs.run / appsi solve) only
    explanation: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Optimal, or feasible at a time-out."""
        return self.status in (Status.OPTIMAL, Status.FEASIBLE_TIMEOUT) and self.has_solution

    @property
    def total_s(self) -> float:
        return self.build_s + self.translate_s + self.solve_s

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status.value
        for k in ("objective", "mip_gap"):
            if not np.isfinite(d[k]):
                d[k] = None
        return d


_TIMEOUTS = {
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kIterationLimit,
    highspy.HighsModelStatus.kSolutionLimit,
    highspy.HighsModelStatus.kInterrupt,
    highspy.HighsModelStatus.kObjectiveBound,
    highspy.HighsModelStatus.kObjectiveTarget,
}


def _map_highs_status(ms: highspy.HighsModelStatus, has_primal: bool) -> Status:
    if ms == highspy.HighsModelStatus.kOptimal:
        return Status.OPTIMAL
    if ms == highspy.HighsModelStatus.kInfeasible:
        return Status.INFEASIBLE
    if ms == highspy.HighsModelStatus.kUnbounded:
        return Status.UNBOUNDED
    if ms == highspy.HighsModelStatus.kUnboundedOrInfeasible:
        return Status.INFEASIBLE_OR_UNBOUNDED
    if ms in _TIMEOUTS:
        return Status.FEASIBLE_TIMEOUT if has_primal else Status.TIMEOUT_NO_SOLUTION
    return Status.ERROR


#: HiGHS runs all solves of a process on one global thread scheduler, sized by the first run's
#: ``threads`` option (unset: HiGHS's own choice). A later run asking for another count fails with
#: status error and model status "Not Set" (highspy 1.16.0): a dispatch solved with the default
#: made every later ``threads=1`` solve of the day-ahead job fail in the same process. The count
#: of the first run is kept here (it mirrors that process-wide state of the library) and a
#: conflicting request is left out, so the solve runs on the existing scheduler.
_SCHEDULER: dict[str, int] = {}
_SCHEDULER_LOCK = threading.Lock()


def _scheduler_threads(requested: int | None) -> int | None:
    """The ``threads`` option to set for a run that asks for ``requested`` (None: leave unset)."""
    with _SCHEDULER_LOCK:
        first = _SCHEDULER.setdefault("threads", 0 if requested is None else int(requested))
    if requested is None or int(requested) == first:
        return requested
    logger.debug("HiGHS thread scheduler already runs %s; threads=%d not applied",
                 f"{first} threads" if first else "HiGHS's default", requested)  # fmt: skip
    return None


def make_highs(lp: LpArrays, options: SolveOptions) -> highspy.Highs:
    """A ``highspy.Highs`` instance holding ``lp`` with ``options`` applied."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", bool(options.log))
    if options.time_limit_s is not None:
        h.setOptionValue("time_limit", float(options.time_limit_s))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    threads = _scheduler_threads(options.threads)
    if threads is not None:
        h.setOptionValue("threads", threads)
    if not options.presolve:
        h.setOptionValue("presolve", "off")
    for key, value in options.highs_options.items():
        h.setOptionValue(key, value)
    hlp = highspy.HighsLp()
    hlp.num_col_ = int(lp.A.shape[1])
    hlp.num_row_ = int(lp.A.shape[0])
    hlp.col_cost_ = np.ascontiguousarray(lp.c, dtype=np.float64)
    hlp.offset_ = float(lp.c0)
    hlp.col_lower_ = np.ascontiguousarray(lp.col_lo, dtype=np.float64)
    hlp.col_upper_ = np.ascontiguousarray(lp.col_hi, dtype=np.float64)
    hlp.row_lower_ = np.ascontiguousarray(lp.row_lo, dtype=np.float64)
    hlp.row_upper_ = np.ascontiguousarray(lp.row_hi, dtype=np.float64)
    hlp.sense_ = highspy.ObjSense.kMaximize if lp.maximize else highspy.ObjSense.kMinimize
    hlp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    hlp.a_matrix_.start_ = np.ascontiguousarray(lp.A.indptr, dtype=np.int32)
    hlp.a_matrix_.index_ = np.ascontiguousarray(lp.A.indices, dtype=np.int32)
    hlp.a_matrix_.value_ = np.ascontiguousarray(lp.A.data, dtype=np.float64)
    if lp.integer.any():
        hlp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in lp.integer.tolist()
        ]
    h.passModel(hlp)
    return h


def solve_arrays(
    lp: LpArrays, options: SolveOptions | None = None
) -> tuple[SolveResult, np.ndarray | None, np.ndarray | None]:
    """Solve array-form ``lp`` with highspy: (result, x or None, row duals or None)."""
    options = options or SolveOptions()
    t0 = time.perf_counter()
    h = make_highs(lp, options)
    t1 = time.perf_counter()
    h.run()
    t_run = time.perf_counter() - t1
    ms = h.getModelStatus()
    info = h.getInfo()
    has_primal = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
    status = _map_highs_status(ms, has_primal)
    x = duals = None
    if has_primal and status in (Status.OPTIMAL, Status.FEASIBLE_TIMEOUT):
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=float)
        if not lp.integer.any() and sol.dual_valid:
            duals = np.asarray(sol.row_dual, dtype=float)
    t2 = time.perf_counter()
    is_mip = bool(lp.integer.any())
    res = SolveResult(
        status=status,
        objective=float(info.objective_function_value) if x is not None else float("nan"),
        mip_gap=float(info.mip_gap) if is_mip and x is not None else 0.0,
        translate_s=t1 - t0,
        solve_s=t2 - t1,
        message=h.modelStatusToString(ms),
        has_solution=x is not None,
        path="fast-arrays",
        solver_s=t_run,
    )
    return res, x, duals


def _standard_form_arrays(m: pyo.ConcreteModel) -> tuple[LpArrays, list[Any], list[Any]]:
    """Pyomo model -> arrays with Pyomo's standard-form compiler (mixed form)."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    if len(info.objectives) != 1:
        raise ValueError(f"model {m.name} must have exactly one active objective, has {len(info.objectives)}")
    A = info.A.tocsc()
    rhs = np.asarray(info.rhs, dtype=float)
    kind = np.array([r.bound_type for r in info.rows], dtype=int)
    row_lo = np.where(kind >= 0, np.where(kind == 0, rhs, -np.inf), rhs)
    row_hi = np.where(kind <= 0, np.where(kind == 0, rhs, np.inf), rhs)
    cols = info.columns
    col_lo = np.array([-np.inf if v.lb is None else v.lb for v in cols], dtype=float)
    col_hi = np.array([np.inf if v.ub is None else v.ub for v in cols], dtype=float)
    integer = np.array([v.is_integer() or v.is_binary() for v in cols], dtype=bool)
    c = np.asarray(info.c.toarray()[0], dtype=float) if info.c.shape[0] else np.zeros(len(cols))
    obj = info.objectives[0]
    lp = LpArrays(
        c=c,
        c0=float(np.asarray(info.c_offset).ravel()[0]) if np.size(info.c_offset) else 0.0,
        A=A,
        row_lo=row_lo,
        row_hi=row_hi,
        col_lo=col_lo,
        col_hi=col_hi,
        integer=integer,
        maximize=obj.sense == pyo.maximize,
    )
    return lp, cols, info.rows


def _solve_plain(
    m: pyo.ConcreteModel, options: SolveOptions, want_duals: bool = False
) -> tuple[SolveResult, dict[Any, float] | None]:
    from pyomo.contrib.appsi.base import TerminationCondition as TC
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs()
    opt.config.load_solution = False
    opt.config.stream_solver = bool(options.log)
    opt.config.mip_gap = float(options.mip_gap)
    if options.time_limit_s is not None:
        opt.config.time_limit = float(options.time_limit_s)
    opt.highs_options.update(options.highs_options)
    t0 = time.perf_counter()
    res = opt.solve(m)
    t_run = time.perf_counter() - t0
    tc = res.termination_condition
    has = res.best_feasible_objective is not None
    mapping = {
        TC.optimal: Status.OPTIMAL,
        TC.infeasible: Status.INFEASIBLE,
        TC.unbounded: Status.UNBOUNDED,
        TC.infeasibleOrUnbounded: Status.INFEASIBLE_OR_UNBOUNDED,
    }
    if tc in mapping:
        status = mapping[tc]
    elif tc in (TC.maxTimeLimit, TC.maxIterations, TC.interrupted, TC.objectiveLimit):
        status = Status.FEASIBLE_TIMEOUT if has else Status.TIMEOUT_NO_SOLUTION
    else:
        status = Status.ERROR
    duals = None
    if has and status in (Status.OPTIMAL, Status.FEASIBLE_TIMEOUT):
        res.solution_loader.load_vars()
        if want_duals and status == Status.OPTIMAL:
            duals = res.solution_loader.get_duals()
    t1 = time.perf_counter()
    gap = 0.0
    if has and res.best_objective_bound is not None and np.isfinite(res.best_objective_bound):
        obj = float(res.best_feasible_objective)
        gap = abs(obj - float(res.best_objective_bound)) / max(abs(obj), 1e-10)
    result = SolveResult(
        status=status,
        objective=float(res.best_feasible_objective) if has else float("nan"),
        mip_gap=gap,
        solve_s=t1 - t0,
        message=str(tc),
        has_solution=has and status in (Status.OPTIMAL, Status.FEASIBLE_TIMEOUT),
        path="appsi_highs",
        solver_s=t_run,
    )
    return result, duals


def solve_model(
    m: LinearModel | pyo.ConcreteModel, options: SolveOptions | None = None, *, build_s: float = 0.0
) -> SolveResult:
    """Solve ``m`` and load the solution onto its Pyomo variables.

    Parameters
    ----------
    m:
        A :class:`~gridai.optim.linear.LinearModel` or any linear (MI)LP Pyomo ``ConcreteModel``
        with one active objective.
    options:
        :class:`SolveOptions` (path, time limit, MIP gap).
    build_s:
        Model build time to report in the result [s].

    Returns
    -------
    SolveResult
        Never raises on infeasibility; callers check ``result.ok`` and explain.
    """
    options = options or SolveOptions()
    if isinstance(m, LinearModel):
        if options.fast:
            t0 = time.perf_counter()
            lp = m.arrays()
            t1 = time.perf_counter()
            res, x, duals = solve_arrays(lp, options)
            t2 = time.perf_counter()
            if x is not None:
                m.set_solution(x, duals)
            res.translate_s += t1 - t0
            res.solve_s += time.perf_counter() - t2
        else:
            t0 = time.perf_counter()
            pm = m.to_pyomo()
            t1 = time.perf_counter()
            res, plain_duals = _solve_plain(pm, options, want_duals=not m.is_mip)
            res.translate_s = t1 - t0
            if res.has_solution:
                x = np.array([v.value if v.value is not None else 0.0 for v in m.pyomo_vars()], dtype=float)
                row_dual = None
                if plain_duals is not None:
                    row_dual = np.zeros(m.n_row)
                    for fam in m.families.values():
                        for i, cd in getattr(pm, "c_" + fam.name).items():
                            row_dual[fam.offset + i] = plain_duals.get(cd, 0.0)
                m.set_solution(x, row_dual)
    elif options.fast:
        t0 = time.perf_counter()
        lp, cols, _rows = _standard_form_arrays(m)
        t1 = time.perf_counter()
        res, x, _duals = solve_arrays(lp, options)
        if x is not None:
            for v, val in zip(cols, x.tolist(), strict=True):
                v.set_value(round(val) if v.is_integer() or v.is_binary() else val, skip_validation=True)
        res.translate_s += t1 - t0
        res.path = "fast-standard-form"
    else:
        res, _ = _solve_plain(m, options)
    res.build_s = build_s
    logger.info(
        "solved %s via %s: %s, objective %.6g (translate %.3f s, solve %.3f s)",
        getattr(m, "name", "model"),
        res.path,
        res.status.value,
        res.objective,
        res.translate_s,
        res.solve_s,
    )
    return res
