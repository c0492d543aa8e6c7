"""Plain-words explanation of what a restoration plan could not restore, and why."""

from __future__ import annotations

import networkx as nx
import numpy as np

from gridai.restoration.network import Fault, RestorationNetwork


def bus_ranges(buses: list[int]) -> str:
    """``[2, 3, 4, 5, 9]`` -> ``"2-5, 9"``."""
    out: list[str] = []
    b = sorted(set(buses))
    i = 0
    while i < len(b):
        j = i
        while j + 1 < len(b) and b[j + 1] == b[j] + 1:
            j += 1
        out.append(str(b[i]) if i == j else f"{b[i]}-{b[j]}")
        i = j + 1
    return ", ".join(out)


def reachable_from_sources(rn: RestorationNetwork, fault: Fault, islands: tuple[int, ...] = ()) -> np.ndarray:
    """Buses a live source (or a started grid-forming unit) could reach through branches that are
    closed or can be closed, avoiding the faulted lines and faulted sections (bool mask)."""
    a = rn.arrays
    dead_sec = {int(rn.section[b]) for b in fault.dead_buses}
    dead = np.array([int(s) in dead_sec for s in rn.section])
    usable = (a.closed | rn.operable) & ~dead[a.f] & ~dead[a.t]
    usable[list(fault.open_branches)] = False
    g = nx.Graph()
    g.add_nodes_from(range(a.n_bus))
    g.add_edges_from(zip(a.f[usable].tolist(), a.t[usable].tolist(), strict=True))
    mask = np.zeros(a.n_bus, dtype=bool)
    for s in [*a.slack.tolist(), *[u.bus for u in rn.island_units if u.storage in islands]]:
        if not dead[s]:
            mask[list(nx.node_connected_component(g, int(s)))] = True
    return mask


def explain(
    rn: RestorationNetwork,
    fault: Fault,
    served_fraction: np.ndarray,
    interrupted: np.ndarray,
    islands: tuple[int, ...] = (),
) -> str:
    """Why load stays unserved: faulted section, no tie reaches it, or limits bind; and which
    grid-forming units carry an island."""
    a = rn.arrays
    what = ", ".join([f"line {x}" for x in fault.lines] + [f"bus {x}" for x in fault.buses])
    load = rn.p_load_kw > 0
    unserved = interrupted & load & (served_fraction < 1.0 - 1e-6)
    island_parts = [
        f"storage {u.storage} at bus {rn.bus_label(u.bus)} carries an island of up to {u.p_max_kw:.0f} kW "
        f"({u.energy_kwh:.0f} kWh over {rn.config.island_duration_h:g} h)"
        for u in rn.island_units
        if u.storage in islands
    ]
    if not unserved.any():
        return "; ".join([f"all load interrupted by the fault on {what} is restored", *island_parts])
    parts: list[str] = island_parts
    dead_sec = {int(rn.section[b]) for b in fault.dead_buses}
    dead = np.array([int(s) in dead_sec for s in rn.section])
    if dead.any():
        src_dead = [int(a.bus[s]) for s in a.slack if dead[s]]
        where = "the substation section" if src_dead else "a section without its own switch"
        parts.append(
            f"the fault is in {where}: buses {bus_ranges([int(b) for b in a.bus[dead]])} must stay "
            "de-energised until repaired"
            + (f" (source at bus {bus_ranges(src_dead)} lost)" if src_dead else "")
        )
    reach = reachable_from_sources(rn, fault, islands)
    cut = unserved & ~reach & ~dead
    if cut.any():
        parts.append(f"no tie reaches buses {bus_ranges([int(b) for b in a.bus[cut]])}")
    limited = unserved & reach & ~dead
    if limited.any():
        kw = float((rn.p_load_kw * (1.0 - served_fraction))[limited].sum())
        parts.append(
            f"buses {bus_ranges([int(b) for b in a.bus[limited]])} can be reached but restoring them "
            f"fully would break voltage or thermal limits: {kw:.0f} kW of the lowest-priority load is shed"
        )
    return "; ".join(parts)
