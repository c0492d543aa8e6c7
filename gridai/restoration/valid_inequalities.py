"""Valid inequalities of the restoration MILP for pure loads (see :func:`add_flow_direction`).

Added by :func:`~gridai.restoration.model.build_model` when ``valid_inequalities`` is set: they
change no integer plan, only the relaxation (fewer branch-and-bound nodes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pyomo.environ as pyo

from gridai.grid.lindistflow import voltage_drop_coefficients

if TYPE_CHECKING:  # model.py imports this module to build the MILP
    from gridai.restoration.model import MilpData


def _electrical_distance(d: MilpData, weight: np.ndarray) -> np.ndarray:
    """Shortest path length by ``weight`` (>= 0) from any live source or grid-forming unit to each
    bus over the active branches (``inf`` where none reaches)."""
    g = nx.Graph()
    g.add_nodes_from(range(d.n_bus))
    for f, t, w in sorted(zip(d.f.tolist(), d.t.tolist(), np.maximum(weight, 0.0).tolist(), strict=True),
                          key=lambda e: -e[2]):  # fmt: skip
        g.add_edge(f, t, w=w)  # parallel branches: the lowest weight is added last and kept
    out = np.full(d.n_bus, np.inf)
    roots = set(d.sources.tolist()) | set(d.island_bus.tolist())
    for i, v in nx.multi_source_dijkstra_path_length(g, roots, weight="w").items():
        out[i] = v
    return out


def add_flow_direction(m: pyo.ConcreteModel, d: MilpData) -> None:
    """Valid inequalities for pure loads (``p, q >= 0``, no taps), where power flows away from the
    source along the tree orientation and voltage only falls along it. They cut off fractional
    topologies whose big-M voltage slack hides the drop; every integer plan satisfies them.

    Direction: ``P_a, Q_a <= M b^ft_a`` and ``-P_a, -Q_a <= M b^tf_a`` [pu].
    Distance budget: ``(R_f + r_a) P_a + (X_f + x_a) Q_a <= (U_src - U_min) / 2 b^ft_a`` with
    ``R_f, X_f`` the least resistance/reactance from any live source to ``f`` (and mirrored for
    ``t -> f``) [pu]: every branch upstream carries at least ``P_a``.
    Headroom: ``2 (r_a P_a + x_a Q_a) <= U_f - U_min`` and ``-2 (r_a P_a + x_a Q_a) <= U_t - U_min``
    [pu^2]: the receiving end stays above the limit.
    Measured on case33bw's worst fault (line 1): 832 -> 36 branch-and-bound nodes.
    """
    if not d.pure_loads or not len(m.OA):
        return
    rd = _electrical_distance(d, d.r)
    xd = _electrical_distance(d, d.x)
    budget = 0.5 * (float(np.nanmax(np.concatenate([d.u_source[d.sources], d.island_u]))) - d.u_min)
    m.dir_p_ft = pyo.Constraint(m.OA, rule=lambda m, j: m.P[j] <= d.flow_cap_p * m.bf[j])
    m.dir_p_tf = pyo.Constraint(m.OA, rule=lambda m, j: -m.P[j] <= d.flow_cap_p * m.bt[j])
    m.dir_q_ft = pyo.Constraint(m.OA, rule=lambda m, j: m.Q[j] <= d.flow_cap_q * m.bf[j])
    m.dir_q_tf = pyo.Constraint(m.OA, rule=lambda m, j: -m.Q[j] <= d.flow_cap_q * m.bt[j])

    def distance_budget(m: pyo.ConcreteModel, j: int, sign: int) -> object:
        send = int(d.f[j]) if sign > 0 else int(d.t[j])
        rr, xx = rd[send] + float(d.r[j]), xd[send] + float(d.x[j])
        if not (np.isfinite(rr) and np.isfinite(xx)) or rr + xx <= 0:
            return pyo.Constraint.Skip
        return sign * (rr * m.P[j] + xx * m.Q[j]) <= budget * (m.bf[j] if sign > 0 else m.bt[j])

    _, _, c_p, c_q = voltage_drop_coefficients(d.r, d.x, d.tau2, 1.0)

    def drop(m: pyo.ConcreteModel, j: int) -> pyo.Expression:  # 2 (r_a P_a + x_a Q_a) [pu^2]
        return float(c_p[j]) * m.P[j] + float(c_q[j]) * m.Q[j]

    m.v_budget_ft = pyo.Constraint(m.OA, rule=lambda m, j: distance_budget(m, j, 1))
    m.v_budget_tf = pyo.Constraint(m.OA, rule=lambda m, j: distance_budget(m, j, -1))
    m.v_head_ft = pyo.Constraint(m.OA, rule=lambda m, j: drop(m, j) <= m.U[int(d.f[j])] - d.u_min)
    m.v_head_tf = pyo.Constraint(m.OA, rule=lambda m, j: -drop(m, j) <= m.U[int(d.t[j])] - d.u_min)
