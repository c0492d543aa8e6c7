"""PNG of a restoration plan: fault, de-energised area, shed load and switch changes.

Bus positions come from the network's geodata when every bus has it, otherwise from a
networkx Kamada-Kawai layout of all branches (closed or not). Drawn on a
``matplotlib.figure.Figure`` with its own Agg canvas: no pyplot, no global backend choice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gridai.outputs import atomic_path
from gridai.restoration.network import energised_buses, live_sources

if TYPE_CHECKING:
    from gridai.restoration.api import RestorationPlan


def _positions(plan: RestorationPlan) -> dict[int, tuple[float, float]]:
    a, net = plan.rn.arrays, plan.rn.net
    if "geo" in net.bus.columns and net.bus.loc[a.bus, "geo"].notna().all():
        pos = {}
        for i, b in enumerate(a.bus):
            coords = json.loads(net.bus.at[int(b), "geo"])["coordinates"]
            pos[i] = (float(coords[0]), float(coords[1]))
        return pos
    g = nx.Graph()
    g.add_nodes_from(range(a.n_bus))
    g.add_edges_from(zip(a.f.tolist(), a.t.tolist(), strict=True))
    if a.n_bus <= FORCE_LAYOUT_MAX_BUSES:
        return {int(k): (float(v[0]), float(v[1])) for k, v in nx.kamada_kawai_layout(g).items()}
    return tree_layout(g, [int(s) for s in np.atleast_1d(a.slack)])


#: Largest network drawn with the Kamada-Kawai force layout (cubic in the bus count: a 3,000-bus
#: network took minutes); larger ones get :func:`tree_layout`, linear in the bus count.
FORCE_LAYOUT_MAX_BUSES = 200


def tree_layout(g: nx.Graph, roots: list[int]) -> dict[int, tuple[float, float]]:
    """A left-to-right tree drawing in linear time: ``x`` = hops from the nearest root (a source),
    ``y`` = leaves in depth-first order, an inner bus at the mean of its children. Buses not
    reachable from a root start trees of their own, below the others."""
    x: dict[int, float] = {}
    y: dict[int, float] = {}
    next_leaf = 0.0
    for start in [r for r in roots if r in g] + list(g.nodes):
        if start in y:
            continue
        tree = nx.bfs_tree(g, start)
        for node, hops in nx.single_source_shortest_path_length(tree, start).items():
            x[int(node)] = float(hops)
        for node in nx.dfs_postorder_nodes(tree, start):
            kids = list(tree.successors(node))
            if kids:
                y[int(node)] = sum(y[int(c)] for c in kids) / len(kids)
            else:
                y[int(node)], next_leaf = next_leaf, next_leaf + 1.0
    return {n: (x[n], -y[n]) for n in y}


def plot_plan(plan: RestorationPlan, path: str | Path) -> Path:
    """Write the plan as a PNG to ``path`` (atomically) and return the path."""
    a = plan.rn.arrays
    pos = _positions(plan)
    fig = Figure(figsize=(10, 8))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    changed = set(plan.changed_branches())
    fault_br = set(plan.fault.open_branches)
    for k in range(a.n_branch):
        (x0, y0), (x1, y1) = pos[int(a.f[k])], pos[int(a.t[k])]
        if k in fault_br:
            style = dict(color="red", lw=3.0, ls="-", zorder=3)
        elif k in changed and plan.closed[k]:
            style = dict(color="tab:blue", lw=3.0, ls="-", zorder=3)
        elif k in changed:
            style = dict(color="tab:orange", lw=2.5, ls=":", zorder=3)
        elif plan.closed[k]:
            style = dict(color="0.35", lw=1.2, ls="-", zorder=2)
        else:
            style = dict(color="0.7", lw=1.0, ls="--", zorder=1)
        ax.plot([x0, x1], [y0, y1], **style)  # type: ignore[arg-type]
    # energised by topology (a source or a started battery reaches it), whether or not its load is served
    energised = energised_buses(plan.rn, plan.closed, live_sources(plan.rn, plan.fault, plan.islands))
    has_load = plan.rn.p_load_kw > 0
    dark = ~energised & (has_load | ~np.isin(np.arange(a.n_bus), a.slack))
    partial = energised & has_load & (plan.served_fraction < 1 - 1e-6)
    dead = np.zeros(a.n_bus, dtype=bool)
    dead[list(plan.fault.dead_buses)] = True
    xy = np.array([pos[i] for i in range(a.n_bus)])
    groups = [
        (energised & ~partial, "tab:green", "energised"),
        (partial, "gold", "energised, load (partly) shed"),
        (dark & ~dead, "black", "de-energised"),
        (dead, "red", "faulted section"),
    ]
    for mask, color, label in groups:
        if mask.any():
            ax.scatter(xy[mask, 0], xy[mask, 1], s=28, c=color, label=label, zorder=4)
    if a.n_bus <= 60:
        for i in range(a.n_bus):
            ax.annotate(str(int(a.bus[i])), xy[i], fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.scatter(xy[a.slack, 0], xy[a.slack, 1], s=160, marker="s", c="tab:purple", label="source", zorder=5)
    started = [u.bus for u in plan.rn.island_units if u.storage in plan.islands]
    if started:
        ax.scatter(xy[started, 0], xy[started, 1], s=160, marker="D", c="tab:cyan", label="battery island source",
                   zorder=5)  # fmt: skip
    for style, label in [
        (dict(color="red", lw=3.0), "faulted line (isolated)"),
        (dict(color="tab:blue", lw=3.0), "closed by plan"),
        (dict(color="tab:orange", lw=2.5, ls=":"), "opened by plan"),
        (dict(color="0.7", lw=1.0, ls="--"), "open"),
    ]:
        ax.plot([], [], label=label, **style)  # type: ignore[arg-type]
    what = ", ".join([f"line {x}" for x in plan.fault.lines] + [f"bus {x}" for x in plan.fault.buses])
    ax.set_title(
        f"{plan.rn.name}: fault on {what} - restored {plan.restored_kw:.0f} of {plan.interrupted_kw:.0f} kW, "
        f"{len(plan.sequence)} operations, verification {'passed' if plan.ok else 'FAILED'}",
        fontsize=10,
    )
    ax.legend(loc="best", fontsize=8)
    ax.set_axis_off()
    out = Path(path)
    with atomic_path(out) as tmp:  # keeps the .png suffix: savefig picks the format by it
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    return out
