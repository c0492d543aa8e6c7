"""Feeder topology: load pandapower networks safely and flatten them to per-unit arrays.

Every branch (line, two-winding transformer, closed bus-bus switch) becomes a row of
:class:`FeederArrays` with its impedance in per unit on the system base ``s_base_mva``
and its thermal rating in MVA. The arrays are what LinDistFlow (dispatch) and the
restoration MILP are built from; the pandapower net stays the reference for AC checks.

Per unit: ``z_base = vn_kv**2 / s_base_mva`` [ohm] at the branch's from-bus voltage level.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandapower as pp
import pandapower.networks as pn

from gridai.exceptions import GridAIDataError
from gridai.grid.netjson import read_network_json

logger = logging.getLogger(__name__)


def _cigre_mv() -> pp.pandapowerNet:
    return pn.create_cigre_network_mv(with_der="pv_wind")


#: Built-in networks by name; SimBench codes (e.g. ``"1-MV-rural--0-sw"``) work when ``simbench`` is installed.
BUILTIN_NETWORKS: dict[str, Callable[[], pp.pandapowerNet]] = {
    "case33bw": pn.case33bw,
    "cigre_mv": _cigre_mv,
    "mv_oberrhein": pn.mv_oberrhein,
}


def load_network(spec: str | Path) -> pp.pandapowerNet:
    """A pandapower network by built-in name, SimBench code or JSON path.

    Parameters
    ----------
    spec:
        ``"case33bw"``, ``"cigre_mv"``, ``"mv_oberrhein"``, a SimBench grid code, or a path
        to a pandapower JSON file (read by an allow-list parser, see :mod:`gridai.grid.netjson`).
    """
    name = str(spec)
    if name in BUILTIN_NETWORKS:
        return BUILTIN_NETWORKS[name]()
    if name.endswith(".json") or Path(name).exists():
        return read_network_json(name)
    try:
        import simbench  # type: ignore[import-not-found]
    except ImportError:
        simbench = None
    if simbench is not None:
        try:
            return simbench.get_simbench_net(name)
        except Exception:  # noqa: BLE001 - unknown code: fall through to the clear error below
            pass
    raise GridAIDataError(
        f"unknown network {name!r}: use one of {sorted(BUILTIN_NETWORKS)}, a SimBench code "
        "(with the optional simbench package) or a path to a pandapower JSON file",
        network=name,
    )


@dataclass
class FeederArrays:
    """A network flattened to arrays (all powers in MW/Mvar, impedances in per unit).

    Attributes
    ----------
    bus:
        pandapower bus indices, shape ``(n_bus,)``; positions in this array are "bus positions".
    vn_kv:
        Nominal voltage per bus [kV].
    slack:
        Positions of buses fed by an external grid (the sources).
    p_load_mw, q_load_mvar:
        Net demand per bus (loads minus static generators), scaled as in the net [MW, Mvar].
    f, t:
        From/to bus positions of each branch, shape ``(n_branch,)``.
    r_pu, x_pu:
        Branch series resistance and reactance [pu on ``s_base_mva``].
    s_max_mva:
        Branch thermal rating [MVA] (``inf`` where none is known).
    kind:
        ``"line"``, ``"trafo"`` or ``"switch"`` (bus-bus switch).
    element:
        pandapower index of the line/trafo/switch behind each branch.
    closed:
        Normal state: in service with every switch on it closed.
    switchable:
        The branch carries a switch that can be operated (or, for ``case33bw``, every line).
    switch_ids:
        pandapower switch indices on each branch (empty tuple where none).
    """

    bus: np.ndarray
    vn_kv: np.ndarray
    slack: np.ndarray
    p_load_mw: np.ndarray
    q_load_mvar: np.ndarray
    f: np.ndarray
    t: np.ndarray
    r_pu: np.ndarray
    x_pu: np.ndarray
    s_max_mva: np.ndarray
    kind: np.ndarray
    element: np.ndarray
    closed: np.ndarray
    switchable: np.ndarray
    switch_ids: list[tuple[int, ...]] = field(default_factory=list)
    s_base_mva: float = 1.0
    name: str = ""

    @property
    def n_bus(self) -> int:
        return len(self.bus)

    @property
    def n_branch(self) -> int:
        return len(self.f)

    def bus_pos(self, bus_index: int) -> int:
        """Position of pandapower bus ``bus_index`` in the arrays."""
        hits = np.flatnonzero(self.bus == bus_index)
        if len(hits) == 0:
            raise GridAIDataError(f"bus {bus_index} is not in network {self.name!r}", bus=bus_index)
        return int(hits[0])

    def graph(self, closed: np.ndarray | None = None) -> nx.MultiGraph:
        """Undirected multigraph of bus positions with the branches that are closed."""
        state = self.closed if closed is None else closed
        g = nx.MultiGraph()
        g.add_nodes_from(range(self.n_bus))
        for k in np.flatnonzero(state):
            g.add_edge(int(self.f[k]), int(self.t[k]), key=int(k))
        return g


def feeder_arrays(
    net: pp.pandapowerNet, name: str = "", all_lines_switchable: bool | None = None
) -> FeederArrays:
    """Flatten ``net`` to :class:`FeederArrays`.

    Parameters
    ----------
    net:
        A pandapower network with at least one external grid.
    all_lines_switchable:
        Treat every line as switchable (the convention for ``case33bw``). Default: true when the
        net has no line switches at all.
    """
    if len(net.ext_grid) == 0 or not net.ext_grid["in_service"].any():
        raise GridAIDataError(f"network {name!r} has no in-service external grid (no source)", network=name)
    s_base = float(net.sn_mva) if float(net.sn_mva) > 0 else 1.0
    bus = net.bus.index[net.bus["in_service"]].to_numpy()
    pos = {int(b): i for i, b in enumerate(bus)}
    vn = net.bus.loc[bus, "vn_kv"].to_numpy(dtype=float)

    p = np.zeros(len(bus))
    q = np.zeros(len(bus))
    for table, sign in (("load", 1.0), ("sgen", -1.0)):
        df = net[table]
        if len(df) == 0:
            continue
        df = df[df["in_service"] & df["bus"].isin(pos)]
        idx = df["bus"].map(pos).to_numpy(dtype=int)
        np.add.at(p, idx, sign * (df["p_mw"] * df["scaling"]).to_numpy(dtype=float))
        np.add.at(q, idx, sign * (df["q_mvar"] * df["scaling"]).to_numpy(dtype=float))

    sw = net.switch
    line_sw = sw[sw["et"] == "l"] if len(sw) else sw
    if all_lines_switchable is None:
        all_lines_switchable = len(line_sw) == 0

    rows: list[dict[str, Any]] = []
    for li, ln in net.line.iterrows():
        if ln["from_bus"] not in pos or ln["to_bus"] not in pos:
            continue
        zb = vn[pos[ln["from_bus"]]] ** 2 / s_base
        par = float(ln.get("parallel", 1) or 1)
        r = ln["r_ohm_per_km"] * ln["length_km"] / par / zb
        x = ln["x_ohm_per_km"] * ln["length_km"] / par / zb
        rating = np.sqrt(3) * ln["max_i_ka"] * par * vn[pos[ln["from_bus"]]] * float(ln.get("df", 1.0) or 1.0)
        sws = line_sw[line_sw["element"] == li] if len(line_sw) else line_sw
        closed = bool(ln["in_service"]) and (len(sws) == 0 or bool(sws["closed"].all()))
        rows.append(
            dict(
                f=pos[ln["from_bus"]],
                t=pos[ln["to_bus"]],
                r=r,
                x=x,
                s=rating,
                kind="line",
                el=li,
                closed=closed,
                switchable=bool(all_lines_switchable or len(sws) > 0),
                sw=tuple(int(i) for i in sws.index),
            )
        )
    for ti, tr in net.trafo.iterrows():
        if tr["hv_bus"] not in pos or tr["lv_bus"] not in pos or not tr["in_service"]:
            continue
        z = tr["vk_percent"] / 100.0 * s_base / tr["sn_mva"]
        r = tr["vkr_percent"] / 100.0 * s_base / tr["sn_mva"]
        x = float(np.sqrt(max(z**2 - r**2, 0.0)))
        rows.append(
            dict(
                f=pos[tr["hv_bus"]],
                t=pos[tr["lv_bus"]],
                r=r,
                x=x,
                s=float(tr["sn_mva"]) * float(tr.get("parallel", 1) or 1),
                kind="trafo",
                el=ti,
                closed=True,
                switchable=False,
                sw=(),
            )
        )
    bus_sw = sw[sw["et"] == "b"] if len(sw) else sw
    for si, s in bus_sw.iterrows():
        if s["bus"] not in pos or s["element"] not in pos:
            continue
        rows.append(
            dict(
                f=pos[s["bus"]],
                t=pos[int(s["element"])],
                r=1e-6,
                x=1e-6,
                s=np.inf,
                kind="switch",
                el=si,
                closed=bool(s["closed"]),
                switchable=True,
                sw=(int(si),),
            )
        )
    slack = np.array(
        sorted({pos[b] for b in net.ext_grid.loc[net.ext_grid["in_service"], "bus"] if b in pos}), dtype=int
    )
    return FeederArrays(
        bus=bus,
        vn_kv=vn,
        slack=slack,
        p_load_mw=p,
        q_load_mvar=q,
        f=np.array([r["f"] for r in rows], dtype=int),
        t=np.array([r["t"] for r in rows], dtype=int),
        r_pu=np.array([r["r"] for r in rows], dtype=float),
        x_pu=np.array([r["x"] for r in rows], dtype=float),
        s_max_mva=np.array([r["s"] for r in rows], dtype=float),
        kind=np.array([r["kind"] for r in rows], dtype=object),
        element=np.array([r["el"] for r in rows], dtype=int),
        closed=np.array([r["closed"] for r in rows], dtype=bool),
        switchable=np.array([r["switchable"] for r in rows], dtype=bool),
        switch_ids=[r["sw"] for r in rows],
        s_base_mva=s_base,
        name=name,
    )


def find_loop(arrays: FeederArrays, closed: np.ndarray | None = None) -> list[int] | None:
    """Branch positions of one loop in the closed graph, or ``None`` when it is a forest."""
    g = arrays.graph(closed)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return None
    return [int(e[2]) for e in cycle]


def check_radial(arrays: FeederArrays, closed: np.ndarray | None = None) -> None:
    """Raise :class:`GridAIDataError` naming the loop if the closed network is meshed."""
    loop = find_loop(arrays, closed)
    if loop is not None:
        desc = ", ".join(f"{arrays.kind[k]} {arrays.element[k]}" for k in loop)
        buses = sorted(
            {int(arrays.bus[arrays.f[k]]) for k in loop} | {int(arrays.bus[arrays.t[k]]) for k in loop}
        )
        raise GridAIDataError(
            f"network {arrays.name!r} is meshed in its normal state: loop through {desc} (buses {buses}); "
            "open one switch of the loop to make it radial",
            network=arrays.name,
            loop=loop,
        )


def farthest_bus(arrays: FeederArrays) -> int:
    """pandapower index of the bus with the largest series resistance from the source.

    Shortest paths from the slack buses over the closed branches, weighted by ``|r_pu|``
    (+1e-9 so that zero-impedance switches still count as a hop); ties go to the lowest
    array position. The default placement of a day-ahead feeder's battery (bus ``'farthest'``
    in :class:`gridai.dispatch.config.BatteryConfig`), where it supports voltage most.
    """
    g = nx.Graph()
    g.add_nodes_from(range(arrays.n_bus))
    for k in np.flatnonzero(arrays.closed):
        g.add_edge(int(arrays.f[k]), int(arrays.t[k]), r=float(abs(arrays.r_pu[k])) + 1e-9)
    dist = nx.multi_source_dijkstra_path_length(g, [int(s) for s in arrays.slack], weight="r")
    pos = max(dist, key=lambda p: (dist[p], -p))
    return int(arrays.bus[pos])
