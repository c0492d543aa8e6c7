"""The MILP optimum equals an exhaustive enumeration of switch states on small networks.

The enumeration is written independently of the MILP: for every state of the operable
switches it checks radiality and sources with networkx, computes LinDistFlow on the tree
directly (downstream sums, path voltage drops) and, for continuous shedding, solves the
remaining LP in the served fractions with scipy; whole-bus shedding enumerates subsets.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pandapower as pp
import pytest
from scipy.optimize import linprog

from gridai.restoration import RestorationConfig, restore
from gridai.restoration.model import milp_data
from gridai.restoration.network import locate_fault, prepare_network

from support import two_feeder_net

OCT = np.cos(np.pi / 8)


def _enumerate(rn, fault, cfg, freeze: bool) -> float:  # noqa: ANN001 - test helper
    a = rn.arrays
    d = milp_data(rn, fault, freeze_healthy=freeze)
    ops_branches = [int(k) for k, op in zip(d.branches, d.operable, strict=True) if op]
    cost = {int(k): float(c) for k, c in zip(d.branches, d.op_cost, strict=True)}
    fixed_closed = [int(k) for k, op in zip(d.branches, d.operable, strict=True) if not op]
    subs = [int(s) for s in d.sources]
    s_base_kw = a.s_base_mva * 1e3
    u_lo, u_hi = d.u_min, d.u_max
    best = -np.inf
    n_units = len(d.island_bus)
    for bits, started in itertools.product(
        itertools.product([0, 1], repeat=len(ops_branches)), itertools.product([0, 1], repeat=n_units)
    ):
        units = [k for k in range(n_units) if started[k]]
        live = subs + [int(d.island_bus[k]) for k in units]
        closed = fixed_closed + [k for k, bit in zip(ops_branches, bits, strict=True) if bit]
        g = nx.Graph()
        g.add_nodes_from(range(a.n_bus))
        for k in closed:
            if g.has_edge(int(a.f[k]), int(a.t[k])):
                break
            g.add_edge(int(a.f[k]), int(a.t[k]), k=k)
        else:
            if not nx.is_forest(g):
                continue
            comps = [c for c in nx.connected_components(g)]
            if any(len(set(live) & c) > 1 for c in comps):
                continue
            energised = set().union(*[c for c in comps if set(live) & c]) if live else set()
            if any(int(b) in energised for b in fault.dead_buses) or any(
                rn.section[b] == rn.section[x] for b in fault.dead_buses for x in energised
            ):
                continue
            ops = sum(
                cost[k] * (0 if bool(a.closed[k]) == bool(bit) else 1)
                for k, bit in zip(ops_branches, bits, strict=True)
            ) + d.island_cost * len(units)
            # a started unit: its bus at its setpoint, its island's load within its limits
            u_root = {int(i): float(d.u_source[i]) for i in subs}
            caps = []
            for k in units:
                b = int(d.island_bus[k])
                u_root[b] = float(d.island_u[k])
                caps.append((nx.node_connected_component(g, b), d.island_p_max_pu[k], d.island_s_max_pu[k]))
            value = _best_service(rn, d, g, live, energised, u_lo, u_hi, s_base_kw, cfg, u_root, caps)
            if value is None:
                continue
            best = max(best, value - d.op_weight * ops)
    return best


def _best_service(rn, d, g, live, energised, u_lo, u_hi, s_base_kw, cfg, u_root, caps=()):  # noqa: ANN001, ANN202
    """Best weighted served load on a fixed tree: an LP (continuous) or subset enumeration."""
    a = rn.arrays
    buses = sorted(energised)
    if not buses:
        return 0.0
    free = [i for i in buses if d.shed_binary[i]]
    fixed = [i for i in buses if not d.shed_binary[i]]
    # rows: for each energised bus, U_i = U_src - 2 sum_path (r P + x Q); P_a = sum_downstream p s
    parent: dict[int, tuple[int, int]] = {}
    for s in live:
        for u, v in nx.bfs_edges(g, s):
            parent[v] = (u, g.edges[u, v]["k"])
    # sensitivity of U_i and of branch flows to each bus's served load
    idx = {i: n for n, i in enumerate(free)}
    n_free = len(free)
    rows_u = []  # (coef over free, const) for U_i
    flows = {}  # branch -> (p coef, q coef, p const, q const)
    for i in buses:
        if i in live:
            continue
        node = i
        while node not in live:
            u, k = parent[node]
            fp = flows.setdefault(k, [np.zeros(n_free), np.zeros(n_free), 0.0, 0.0])
            if i in idx:
                fp[0][idx[i]] += d.p_pu[i]
                fp[1][idx[i]] += d.q_pu[i]
            else:
                fp[2] += d.p_pu[i]
                fp[3] += d.q_pu[i]
            node = u
    for i in buses:
        if i in live:
            continue
        path = []
        node = i
        while node not in live:
            u, k = parent[node]
            path.append(k)
            node = u
        src = node
        coef = np.zeros(n_free)
        const = u_root[src]
        for k in reversed(path):  # from the source down; a trafo ratio divides U_f
            fp = flows[k]
            ka = rn.arrays
            r, x = float(ka.r_pu[k]), float(ka.x_pu[k])
            tau2 = float(rn.tau2[k])
            coef = coef / tau2 - 2 * (r * fp[0] + x * fp[1])
            const = const / tau2 - 2 * (r * fp[2] + x * fp[3])
        rows_u.append((coef, const))
    a_ub, b_ub = [], []
    for coef, const in rows_u:
        a_ub.append(-coef)
        b_ub.append(const - u_lo)
        a_ub.append(coef)
        b_ub.append(u_hi - const)
    for k, (cp, cq, p0, q0) in flows.items():
        lim = rn.rating_mva[k] / a.s_base_mva * OCT
        if np.isfinite(lim):
            for sp, sq, m in [
                (1, 0, 1),
                (-1, 0, 1),
                (0, 1, 1),
                (0, -1, 1),
                (1, 1, 2**0.5),
                (1, -1, 2**0.5),
                (-1, 1, 2**0.5),
                (-1, -1, 2**0.5),
            ]:
                a_ub.append(sp * cp + sq * cq)
                b_ub.append(m * lim - sp * p0 - sq * q0)
    for island, p_max, s_max in caps:  # island load within the unit's P limit and its kVA octagon
        cp = np.array([d.p_pu[i] if i in island else 0.0 for i in free])
        cq = np.array([d.q_pu[i] if i in island else 0.0 for i in free])
        p0 = sum(d.p_pu[i] for i in fixed if i in island)
        q0 = sum(d.q_pu[i] for i in fixed if i in island)
        a_ub.append(cp)
        b_ub.append(p_max - p0)
        if np.isfinite(s_max):
            lim = s_max * OCT
            for sp, sq, m in [(0, 1, 1), (0, -1, 1), (1, 1, 2**0.5), (1, -1, 2**0.5)]:
                a_ub.append(sp * cp + sq * cq)
                b_ub.append(m * lim - sp * p0 - sq * q0)
    w = np.array([d.weighted_kw[i] for i in free])
    base = float(sum(d.weighted_kw[i] for i in fixed))
    if n_free == 0:
        ok = all(b >= -1e-9 for b in b_ub)
        return base if ok else None
    if cfg.shed_whole_bus_loads:
        best = None
        for bits in itertools.product([0, 1], repeat=n_free):
            s = np.array(bits, float)
            if all(row @ s <= b + 1e-9 for row, b in zip(a_ub, b_ub, strict=True)):
                v = base + float(w @ s)
                best = v if best is None or v > best else best
        return best
    res = linprog(-w, A_ub=np.array(a_ub), b_ub=np.array(b_ub), bounds=[(0, 1)] * n_free, method="highs")
    return None if res.status != 0 else base - float(res.fun)


CASES = [
    pytest.param(0, 1.0, False, id="feeder-head-fault"),
    pytest.param(1, 1.0, False, id="mid-feeder-fault"),
    pytest.param(1, 1.15, False, id="mid-feeder-heavy-voltage-binds"),
    pytest.param(6, 1.25, False, id="other-feeder-heavy"),
    pytest.param(2, 1.15, True, id="whole-bus-shedding"),
]


@pytest.mark.parametrize(("line", "heavy", "whole"), CASES)
def test_milp_matches_exhaustive_enumeration(line: int, heavy: float, whole: bool) -> None:
    non_shed = [2, 7, 9] if whole else []
    cfg = RestorationConfig(
        shed_whole_bus_loads=whole, non_sheddable_buses=non_shed, priority={3: 5.0, 8: 2.0}, v_min_pu=0.92
    )
    net = two_feeder_net(heavy)
    rn = prepare_network(net, cfg, "two-feeder")
    assert int(rn.operable.sum()) <= 12
    plan = restore(rn, [line])
    fault = locate_fault(rn, [line])
    # the plan falls back to a reconfigurable healthy area when the frozen one is infeasible
    best = _enumerate(rn, fault, cfg, freeze=not plan.notes)
    assert plan.status == "optimal"
    assert plan.objective is not None
    assert plan.objective == pytest.approx(best, rel=1e-6, abs=0.5 * milp_data(rn, fault).op_weight)
    assert best > -np.inf
    assert plan.ok, plan.verification.problems


def test_enumeration_sees_shedding_when_voltage_binds() -> None:
    """Guard that the heavy case really exercises partial restoration (else the test above is weak)."""
    rn = prepare_network(two_feeder_net(1.15), RestorationConfig(v_min_pu=0.92), "two-feeder")
    plan = restore(rn, [1])
    assert 0 < plan.restored_kw < plan.interrupted_kw


ISLAND_CASES = [
    pytest.param(0, [10, 11], False, id="island-only"),
    pytest.param(0, [11], False, id="island-or-tie"),
    pytest.param(1, [10], False, id="mid-feeder-island-or-tie"),
    pytest.param(0, [11], True, id="island-whole-bus-shedding"),
]


@pytest.mark.parametrize(("line", "unavailable", "whole"), ISLAND_CASES)
def test_milp_with_battery_islands_matches_exhaustive_enumeration(
    line: int, unavailable: list[int], whole: bool
) -> None:
    """The enumeration also tries every subset of grid-forming units as island roots."""
    cfg = RestorationConfig(
        island_storage=[0], unavailable_switches=unavailable, priority={3: 5.0}, shed_whole_bus_loads=whole,
        non_sheddable_buses=[2] if whole else [],
    )  # fmt: skip
    net = two_feeder_net()
    pp.create_storage(net, bus=4, p_mw=0.0, max_e_mwh=1.0, sn_mva=0.6, soc_percent=100.0)
    rn = prepare_network(net, cfg, "two-feeder")
    plan = restore(rn, [line])
    fault = locate_fault(rn, [line])
    assert not plan.notes  # the AC check found no excess island loss: one solve, same limits
    if unavailable == [10, 11]:
        assert plan.islands == (0,) and plan.restored_kw > 0  # guard: the case exercises an island
    best = _enumerate(rn, fault, cfg, freeze=True)
    assert plan.status == "optimal" and plan.objective is not None
    assert plan.objective == pytest.approx(best, rel=1e-6, abs=0.5 * milp_data(rn, fault).op_weight)
    assert plan.ok, plan.verification.problems
