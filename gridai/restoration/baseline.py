"""Reference rule for restoration: isolate the fault, then close the best single tie.

Written independently of the MILP: for each normally-open tie that joins the energised
network to a dark, restorable part, close it alone (no sectionalising, no shedding),
compute LinDistFlow directly on the resulting tree and keep the tie restoring the most
load within the same limits the MILP uses (voltage with margin, thermal rating).
The MILP must never restore less than this rule.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from gridai.grid.lindistflow import in_octagon
from gridai.restoration.network import Fault, RestorationNetwork


def _tree_feasible(rn: RestorationNetwork, closed: np.ndarray, live: list[int]) -> tuple[bool, np.ndarray]:
    """Energised mask and whether LinDistFlow on the closed forest respects the limits."""
    a, cfg = rn.arrays, rn.config
    g = nx.Graph()
    g.add_nodes_from(range(a.n_bus))
    for k in np.flatnonzero(closed):
        g.add_edge(int(a.f[k]), int(a.t[k]), k=int(k))
    energised = np.zeros(a.n_bus, dtype=bool)
    s_base_kw = a.s_base_mva * 1e3
    u_lo = (cfg.v_min_pu + cfg.voltage_margin_pu) ** 2
    u_hi = (cfg.v_max_pu - cfg.voltage_margin_pu) ** 2
    ok = True
    for s in live:
        comp = nx.node_connected_component(g, s)
        energised[list(comp)] = True
        order = list(nx.bfs_edges(g, s))
        p = {i: rn.p_load_kw[i] / s_base_kw for i in comp}
        q = {i: rn.q_load_kvar[i] / s_base_kw for i in comp}
        for u, v in reversed(order):  # accumulate downstream load onto the parent
            p[u] += p[v]
            q[u] += q[v]
        uu = {s: float(rn.u_source[s])}
        for u, v in order:
            k = g.edges[u, v]["k"]
            tau2 = rn.tau2[k] if a.f[k] == u else 1.0 / rn.tau2[k]
            uu[v] = uu[u] / tau2 - 2.0 * (a.r_pu[k] * p[v] + a.x_pu[k] * q[v])
            rating_pu = rn.rating_mva[k] / a.s_base_mva
            if np.isfinite(rating_pu) and not in_octagon(p[v], q[v], rating_pu):
                ok = False
        if any(val < u_lo - 1e-12 or val > u_hi + 1e-12 for key, val in uu.items() if key != s):
            ok = False
    return ok, energised


def best_single_tie(rn: RestorationNetwork, fault: Fault) -> tuple[float, str | None]:
    """Restored load [kW] of the rule and the tie it closes (``None``: isolation only)."""
    a = rn.arrays
    dead_sec = {int(rn.section[b]) for b in fault.dead_buses}
    dead = np.array([int(s) in dead_sec for s in rn.section])
    live = [int(s) for s in a.slack if not dead[s]]
    base = a.closed.copy()
    base[list(fault.open_branches)] = False
    # cut the dead sections out at their operable boundary branches
    boundary = rn.operable & (dead[a.f] != dead[a.t])
    base[boundary] = False
    ok, energised = _tree_feasible(rn, base, live)
    load = np.clip(rn.p_load_kw, 0.0, None)
    base_kw = float(load[energised].sum())
    best, best_tie = 0.0, None
    if not ok:
        return 0.0, None
    ties = np.flatnonzero(~a.closed & rn.operable & ~dead[a.f] & ~dead[a.t])
    for k in ties:
        if int(k) in fault.open_branches or energised[a.f[k]] == energised[a.t[k]]:
            continue
        trial = base.copy()
        trial[k] = True
        ok_k, en_k = _tree_feasible(rn, trial, live)
        if ok_k and (en_k & dead).sum() == 0:
            gain = float(load[en_k].sum()) - base_kw
            if gain > best + 1e-9:
                best, best_tie = gain, rn.branch_label(int(k))
    return best, best_tie
