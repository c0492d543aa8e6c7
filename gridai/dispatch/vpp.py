"""The virtual power plant: aggregate position, target tracking and the flexibility envelope.

The VPP position ``agg[t]`` [kW] is the net injection of every flexible asset in the model
(battery discharge - charge, PV output, load curtailed, minus EV and shifted load), summed
over feeders. It is first-stage: one value per interval whatever the scenario.
"""

from __future__ import annotations

from collections.abc import Sequence

import highspy
import numpy as np

from gridai.grid.lindistflow import Injection
from gridai.optim.linear import LinearModel, VarBlock
from gridai.optim.solve import SolveOptions, make_highs


def add_vpp_aggregate(m: LinearModel, injections: Sequence[Injection], n_t: int) -> VarBlock:
    """``agg[t] = sum_a sign_a * x[a,t]``  [kW] (free variable, one equality row per interval)."""
    agg = m.add_var("vpp_agg_kw", (n_t,), -np.inf, np.inf, description="VPP aggregate injection")
    fam = m.add_rows("vpp_aggregate", [(1.0, agg.idx)], 0.0, 0.0, description="VPP aggregate definition")
    for inj in injections:
        n_a = inj.block.shape[0]
        rows = np.broadcast_to(np.arange(n_t)[None, :], (n_a, n_t))
        m.extend_rows(fam, rows, inj.block.idx, -inj.sign)
    return agg


def add_vpp_tracking(
    m: LinearModel, agg: VarBlock, target_kw: np.ndarray, penalty_per_kwh: float, dt_h: float
) -> None:
    """Tracking: ``agg[t] - target[t] = up[t] - down[t]``, ``up, down >= 0`` [kW];
    penalty ``sum penalty * (up + down) * dt`` [currency] (cost term ``tracking``)."""
    n_t = agg.shape[0]
    up = m.add_var("vpp_dev_up_kw", (n_t,), 0.0, np.inf, description="VPP above target")
    down = m.add_var("vpp_dev_down_kw", (n_t,), 0.0, np.inf, description="VPP below target")
    m.add_rows(
        "vpp_tracking",
        [(1.0, agg.idx), (-1.0, up.idx), (1.0, down.idx)],
        target_kw,
        target_kw,
        description="VPP target tracking",
    )
    m.add_cost("tracking", up.idx, penalty_per_kwh * dt_h)
    m.add_cost("tracking", down.idx, penalty_per_kwh * dt_h)


def flexibility_envelope(
    m: LinearModel, agg: VarBlock, options: SolveOptions | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max feasible aggregate power per interval [kW].

    For each interval ``t`` independently, minimise and maximise ``agg[t]`` subject to every
    constraint of ``m`` (the cost is ignored). ``2 T`` LP solves re-using one HiGHS instance
    (warm-started: only the cost vector changes).
    """
    lp = m.arrays()
    lp_nocost = type(lp)(**{**lp.__dict__, "c": np.zeros_like(lp.c), "c0": 0.0})
    opts = (options or SolveOptions()).model_copy(update={"time_limit_s": None})
    h = make_highs(lp_nocost, opts)
    n_t = agg.shape[0]
    lo, hi = np.full(n_t, np.nan), np.full(n_t, np.nan)
    idx = np.arange(len(lp.c), dtype=np.int32)
    zero = np.zeros(len(lp.c))
    for t in range(n_t):
        col = agg.offset + t
        for sign, out in ((1.0, lo), (-1.0, hi)):
            c = zero.copy()
            c[col] = sign
            h.changeColsCost(len(idx), idx, c)
            h.run()
            if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                out[t] = sign * h.getInfo().objective_function_value
    return lo, hi
