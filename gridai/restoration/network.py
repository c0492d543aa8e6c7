"""The restoration view of a feeder: switches, sections, loads and the faulted area.

A *section* is a set of buses connected through branches that cannot be operated
(transformers, lines without an available switch). Sections are energised or not as a
whole; the MILP decides the state of operable branches between them.

Per unit: powers on the network base ``s_base_mva``; a branch's ``tau2`` is its squared
off-nominal transformer ratio (1 for lines), so that ``U_t = U_f / tau2 - 2 (r P + x Q)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandapower as pp

from gridai.exceptions import GridAIDataError
from gridai.grid.topology import FeederArrays, check_radial, feeder_arrays
from gridai.restoration.config import RestorationConfig
from gridai.restoration.islands import IslandUnit, check_one_unit_per_section, island_units

logger = logging.getLogger(__name__)

#: Ratings above this are placeholders for "no limit" (case33bw's 99999 kA lines) [MVA].
_UNRATED_MVA = 1000.0
_TYPE_ORDER = {"breaker": 0, "remote": 1, "manual": 2}


@dataclass
class RestorationNetwork:
    """A network prepared for restoration: arrays plus switch, section and load data.

    Attributes
    ----------
    arrays:
        The flattened network (see :func:`~gridai.grid.topology.feeder_arrays`).
    line_switches_virtual:
        True when lines are switchable without switch objects (case33bw); switch id = line index.
    sw_f, sw_t:
        Switch identifiers at the from/to end of each branch (a virtual line switch is listed at both).
    operable:
        The branch's state can be changed (available switches; closing needs every open switch available).
    open_type, close_type:
        Switch type used to open / close each operable branch (``""`` when not operable that way).
    section:
        Section number of each bus position.
    source_sections:
        Sections holding an external grid (exactly one each).
    p_load_kw, q_load_kvar:
        Load per bus position (loads; minus static generators when ``der_support``) [kW, kvar].
    weight:
        Priority weight per bus position [-].
    sheddable:
        Bus load may be disconnected on its own.
    rating_mva:
        Thermal limit per branch after ``max_loading_percent`` and ``default_rating_mva`` [MVA] (inf: none).
    tau2:
        Squared off-nominal ratio per branch [-].
    u_source:
        Squared voltage setpoint per bus position of a source (``nan`` elsewhere) [pu^2].
    island_units:
        Grid-forming batteries that may energise an island (see ``islands.py``).
    """

    net: pp.pandapowerNet
    arrays: FeederArrays
    config: RestorationConfig
    line_switches_virtual: bool
    sw_f: list[tuple[int, ...]]
    sw_t: list[tuple[int, ...]]
    operable: np.ndarray
    open_type: np.ndarray
    close_type: np.ndarray
    section: np.ndarray
    n_section: int
    source_sections: np.ndarray
    p_load_kw: np.ndarray
    q_load_kvar: np.ndarray
    weight: np.ndarray
    sheddable: np.ndarray
    rating_mva: np.ndarray
    tau2: np.ndarray
    u_source: np.ndarray
    island_units: tuple[IslandUnit, ...] = ()
    normal_vm_pu: dict[int, float] | None = None  # AC bus voltages of the normal state (verify.py fills it)

    @property
    def name(self) -> str:
        return self.arrays.name

    def switch_ids(self) -> set[int]:
        """Every valid switch identifier of the network."""
        if self.line_switches_virtual:
            return {int(e) for e, k in zip(self.arrays.element, self.arrays.kind, strict=True) if k == "line"}
        return {int(i) for i in self.net.switch.index}

    def branch_of_line(self, line: int) -> int:
        """Branch position of pandapower line ``line``; GridAIDataError when there is none."""
        hits = np.flatnonzero((self.arrays.kind == "line") & (self.arrays.element == line))
        if len(hits) == 0:
            lines = self.net.line.index
            raise GridAIDataError(
                f"line {line} is not in network {self.name!r}: faulted lines must be pandapower line indices "
                f"{int(lines.min())}..{int(lines.max())}"
                if len(lines)
                else f"network {self.name!r} has no lines",
                line=line,
            )
        return int(hits[0])

    def branch_label(self, k: int) -> str:
        return f"{self.arrays.kind[k]} {int(self.arrays.element[k])}"

    def bus_label(self, pos: int) -> int:
        return int(self.arrays.bus[pos])


def live_sources(rn: RestorationNetwork, fault: Fault, islands: tuple[int, ...] = ()) -> list[int]:
    """Bus positions of the sources after the fault: substations outside faulted sections and the
    grid-forming units (pandapower storage indices ``islands``) started to carry an island."""
    dead = {int(rn.section[b]) for b in fault.dead_buses}
    subs = [int(s) for s in rn.arrays.slack if int(rn.section[s]) not in dead]
    return subs + [u.bus for u in rn.island_units if u.storage in islands]


def energised_buses(rn: RestorationNetwork, closed: np.ndarray, sources: list[int]) -> np.ndarray:
    """Buses connected to one of the ``sources`` (bus positions) through ``closed`` branches (bool mask)."""
    a = rn.arrays
    g = nx.Graph()
    g.add_nodes_from(range(a.n_bus))
    g.add_edges_from(zip(a.f[closed].tolist(), a.t[closed].tolist(), strict=True))
    mask = np.zeros(a.n_bus, dtype=bool)
    for s in sources:
        mask[list(nx.node_connected_component(g, s))] = True
    return mask


def sections(arrays: FeederArrays, fixed_closed: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Section of each bus (components of the ``fixed_closed`` branches), their count, and the
    sections holding a source; GridAIDataError when one section holds two sources."""
    g = nx.Graph()
    g.add_nodes_from(range(arrays.n_bus))
    g.add_edges_from((int(arrays.f[k]), int(arrays.t[k])) for k in np.flatnonzero(fixed_closed))
    section = np.zeros(arrays.n_bus, dtype=int)
    for c, comp in enumerate(nx.connected_components(g)):
        section[list(comp)] = c
    n_section = int(section.max()) + 1
    src_sec, counts = np.unique(section[arrays.slack], return_counts=True)
    if (counts > 1).any():
        c = src_sec[counts > 1][0]
        srcs = [int(arrays.bus[s]) for s in arrays.slack if section[s] == c]
        raise GridAIDataError(
            f"network {arrays.name!r}: sources at buses {srcs} are joined through branches that cannot be "
            "opened; a radial restoration needs an open point between any two sources",
            buses=srcs,
        )
    return section, n_section, src_sec.astype(int)


def _switch_type(net: pp.pandapowerNet, sid: int, cfg: RestorationConfig, virtual: bool) -> str:
    if sid in cfg.switch_types:
        return cfg.switch_types[sid]
    if not virtual and str(net.switch.at[sid, "type"]) == "CB":
        return "breaker"
    return cfg.default_switch_type


def _loads(net: pp.pandapowerNet, arrays: FeederArrays, der_support: bool) -> tuple[np.ndarray, np.ndarray]:
    pos = {int(b): i for i, b in enumerate(arrays.bus)}
    p = np.zeros(arrays.n_bus)
    q = np.zeros(arrays.n_bus)
    tables = [("load", 1.0)] + ([("sgen", -1.0)] if der_support else [])
    for table, sign in tables:
        df = net[table]
        if len(df) == 0:
            continue
        df = df[df["in_service"] & df["bus"].isin(pos)]
        idx = df["bus"].map(pos).to_numpy(dtype=int)
        np.add.at(p, idx, sign * 1e3 * (df["p_mw"] * df["scaling"]).to_numpy(dtype=float))
        np.add.at(q, idx, sign * 1e3 * (df["q_mvar"] * df["scaling"]).to_numpy(dtype=float))
    return p, q


def _tau2(net: pp.pandapowerNet, arrays: FeederArrays) -> np.ndarray:
    tau2 = np.ones(arrays.n_branch)
    for k in np.flatnonzero(arrays.kind == "trafo"):
        tr = net.trafo.loc[int(arrays.element[k])]
        step = float(tr.get("tap_step_percent", 0.0) or 0.0)
        pos, neutral = tr.get("tap_pos"), tr.get("tap_neutral")
        if step == 0.0 or pos is None or neutral is None or np.isnan(pos) or np.isnan(neutral):
            continue
        ratio = 1.0 + (float(pos) - float(neutral)) * step / 100.0
        # tap on the HV side divides the LV voltage by the ratio; on the LV side multiplies it
        tau2[k] = ratio**2 if str(tr.get("tap_side", "hv")) == "hv" else 1.0 / ratio**2
    return tau2


def prepare_network(net: pp.pandapowerNet, config: RestorationConfig, name: str = "") -> RestorationNetwork:
    """Check ``net`` and derive everything the restoration MILP and its verification need.

    Raises
    ------
    GridAIDataError
        No source; meshed normal state (naming the loop); two sources joined through
        branches that cannot be opened; a configured switch or bus that is not in the network.
    """
    arrays = feeder_arrays(net, name)  # raises when there is no source
    check_radial(arrays)
    virtual = len(net.switch) == 0 or not (net.switch["et"] == "l").any()
    n_br = arrays.n_branch
    valid_ids = (
        {int(e) for e, k in zip(arrays.element, arrays.kind, strict=True) if k == "line"}
        if virtual
        else {int(i) for i in net.switch.index}
    )
    for field_name, given in (
        ("unavailable_switches", config.unavailable_switches),
        ("switch_types", list(config.switch_types)),
    ):
        bad = sorted(set(given) - valid_ids)
        if bad:
            what = "line indices (its lines are its switches)" if virtual else "pandapower switch indices"
            raise GridAIDataError(
                f"{field_name}: switch {bad[0]} is not in network {name!r}; switch ids there are {what} "
                f"{min(valid_ids)}..{max(valid_ids)}",
                switch=bad[0],
            )
    for field_name, buses in (
        ("priority", list(config.priority)),
        ("non_sheddable_buses", config.non_sheddable_buses),
    ):
        bad = sorted(set(buses) - {int(b) for b in arrays.bus})
        if bad:
            raise GridAIDataError(
                f"{field_name}: bus {bad[0]} is not an in-service bus of network {name!r}", bus=bad[0]
            )

    unavailable = set(config.unavailable_switches)
    sw_f: list[tuple[int, ...]] = []
    sw_t: list[tuple[int, ...]] = []
    operable = np.zeros(n_br, dtype=bool)
    open_type = np.full(n_br, "", dtype=object)
    close_type = np.full(n_br, "", dtype=object)
    for k in range(n_br):
        kind, el = arrays.kind[k], int(arrays.element[k])
        if kind == "line" and virtual:
            ids: tuple[int, ...] = (el,) if arrays.switchable[k] else ()
            ends_f, ends_t = ids, ids
        elif kind == "line":
            ids = arrays.switch_ids[k]
            fb, tb = int(arrays.bus[arrays.f[k]]), int(arrays.bus[arrays.t[k]])
            ends_f = tuple(i for i in ids if int(net.switch.at[i, "bus"]) == fb)
            ends_t = tuple(i for i in ids if int(net.switch.at[i, "bus"]) == tb)
        elif kind == "switch":
            ids = arrays.switch_ids[k]
            ends_f, ends_t = ids, ids
        else:
            ids, ends_f, ends_t = (), (), ()
        sw_f.append(ends_f)
        sw_t.append(ends_t)
        avail = [i for i in ids if i not in unavailable]
        types = {i: _switch_type(net, i, config, virtual) for i in ids}
        if arrays.closed[k] and avail:
            operable[k] = True
            open_type[k] = min((types[i] for i in avail), key=_TYPE_ORDER.__getitem__)
        elif not arrays.closed[k] and ids:
            if kind == "line" and not virtual and not bool(net.line.at[el, "in_service"]):
                continue  # an out-of-service line is not a tie
            must_close = [i for i in ids if virtual or not bool(net.switch.at[i, "closed"])]
            if all(i not in unavailable for i in must_close):
                operable[k] = True
                close_type[k] = max((types[i] for i in must_close), key=_TYPE_ORDER.__getitem__)

    section, n_section, src_sec = sections(arrays, arrays.closed & ~operable)
    p, q = _loads(net, arrays, config.der_support)
    weight = np.array([float(config.priority.get(int(b), 1.0)) for b in arrays.bus])
    sheddable = ~np.isin(arrays.bus, config.non_sheddable_buses)
    rating = arrays.s_max_mva.copy()
    unrated = ~np.isfinite(rating) | (rating > _UNRATED_MVA)
    rating[unrated] = np.inf if config.default_rating_mva is None else config.default_rating_mva
    rating = rating * config.max_loading_percent / 100.0
    u_source = np.full(arrays.n_bus, np.nan)
    pos = {int(b): i for i, b in enumerate(arrays.bus)}
    for _, eg in net.ext_grid[net.ext_grid["in_service"]].iterrows():
        if int(eg["bus"]) in pos:
            u_source[pos[int(eg["bus"])]] = float(eg["vm_pu"]) ** 2
    units = island_units(net, arrays, config)
    check_one_unit_per_section(units, section, name)
    return RestorationNetwork(
        net=net, arrays=arrays, config=config, line_switches_virtual=virtual, sw_f=sw_f, sw_t=sw_t,
        operable=operable, open_type=open_type, close_type=close_type, section=section, n_section=n_section,
        source_sections=src_sec, p_load_kw=p, q_load_kvar=q, weight=weight, sheddable=sheddable,
        rating_mva=rating, tau2=_tau2(net, arrays), u_source=u_source, island_units=units,
    )  # fmt: skip


@dataclass(frozen=True)
class Fault:
    """The faulted elements and what isolating them implies.

    Attributes
    ----------
    lines, buses:
        Faulted pandapower lines and buses.
    open_branches:
        Branch positions opened to isolate the fault (the faulted lines' own switches).
    dead_buses:
        Bus positions that must be de-energised: faulted buses and line ends without an
        available switch; their whole sections go dark.
    """

    lines: tuple[int, ...]
    buses: tuple[int, ...]
    open_branches: tuple[int, ...]
    dead_buses: tuple[int, ...]


#: The normal state: nothing faulted, nothing isolated.
NO_FAULT = Fault(lines=(), buses=(), open_branches=(), dead_buses=())


def _end_isolable(rn: RestorationNetwork, k: int, ids: tuple[int, ...], unavailable: set[int]) -> bool:
    """An end of branch ``k`` is isolated by a switch there that is open or can be opened."""
    for i in ids:
        normally_open = (
            not rn.arrays.closed[k] if rn.line_switches_virtual else not bool(rn.net.switch.at[i, "closed"])
        )
        if normally_open or i not in unavailable:
            return True
    return False


def locate_fault(
    rn: RestorationNetwork, lines: list[int] | tuple[int, ...] = (), buses: list[int] | tuple[int, ...] = ()
) -> Fault:
    """Translate faulted lines/buses into forced-open branches and de-energised buses.

    A faulted line is isolated at each end by one of its own available switches; an end
    without one leaves its bus (and that bus's section) to be de-energised.
    """
    if not lines and not buses:
        raise GridAIDataError("no fault given: name at least one faulted line or bus")
    a = rn.arrays
    unavailable = set(rn.config.unavailable_switches)
    open_br: list[int] = []
    dead: set[int] = set()
    for line in lines:
        k = rn.branch_of_line(int(line))
        f_ok = _end_isolable(rn, k, rn.sw_f[k], unavailable)
        t_ok = _end_isolable(rn, k, rn.sw_t[k], unavailable)
        if f_ok or t_ok:
            open_br.append(k)
            if not f_ok:
                dead.add(int(a.f[k]))
            if not t_ok:
                dead.add(int(a.t[k]))
        else:
            dead.update((int(a.f[k]), int(a.t[k])))
    for b in buses:
        dead.add(a.bus_pos(int(b)))
    return Fault(
        lines=tuple(int(x) for x in lines),
        buses=tuple(int(x) for x in buses),
        open_branches=tuple(open_br),
        dead_buses=tuple(sorted(dead)),
    )
