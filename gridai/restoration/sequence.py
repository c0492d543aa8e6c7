"""Order the switching operations of a restoration plan.

Order: (1) open the faulted lines' own switches (isolation), (2) open the sectionalising
switches that split the outage area, (3) black-start the grid-forming units that carry an
island, (4) close ties, each one joining a dark part to an energised one, fastest switch types
and largest restored load first.

Every intermediate state is a subset of the final closed set once the opens are done, and
the final closed set is a forest with one source per energised tree; so every intermediate
state is radial, and every energised bus is fed along the same path as in the final plan
(flows and voltage drops no larger). :func:`~gridai.restoration.verify.verify_sequence`
checks each state independently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gridai.restoration.model import ISLAND_START_TYPE
from gridai.restoration.network import Fault, RestorationNetwork, energised_buses, live_sources

_TYPE_ORDER = {"breaker": 0, "remote": 1, "manual": 2}


@dataclass(frozen=True)
class SwitchingStep:
    """One switching operation.

    Attributes
    ----------
    step:
        1-based position in the sequence.
    phase:
        ``"isolate"``, ``"open"`` (sectionalise) or ``"close"`` (restore through a tie).
    action:
        ``"open"`` or ``"close"``.
    branch:
        The branch operated, e.g. ``"line 7"``.
    switch_ids:
        Switch identifiers operated (pandapower switch indices; the line index for networks
        whose lines are their switches).
    switch_type:
        ``"breaker"``, ``"remote"`` or ``"manual"``.
    duration_min, done_at_min:
        Time of this operation and cumulative time when it is done [min].
    energised_kw:
        Served load once this step is done [kW].
    unit:
        pandapower storage index of the grid-forming unit started (phase ``"island"``), else None.
    """

    step: int
    phase: str
    action: str
    branch: str
    switch_ids: tuple[int, ...]
    switch_type: str
    duration_min: float
    done_at_min: float
    energised_kw: float
    unit: int | None = None

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["switch_ids"] = list(self.switch_ids)
        return d


def _open_ids(rn: RestorationNetwork, k: int, ends: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
    """Switches to open on branch ``k``: one available, normally closed switch per given end."""
    unavailable = set(rn.config.unavailable_switches)
    chosen: list[int] = []
    for ids in ends:
        cands = [
            i
            for i in ids
            if i not in unavailable and (rn.line_switches_virtual or bool(rn.net.switch.at[i, "closed"]))
        ]
        if cands and cands[0] not in chosen:
            chosen.append(min(cands, key=lambda i: _TYPE_ORDER[_type_of(rn, i)]))
    return tuple(chosen)


def _type_of(rn: RestorationNetwork, sid: int) -> str:
    cfg = rn.config
    if sid in cfg.switch_types:
        return cfg.switch_types[sid]
    if not rn.line_switches_virtual and str(rn.net.switch.at[sid, "type"]) == "CB":
        return "breaker"
    return cfg.default_switch_type


def switching_sequence(
    rn: RestorationNetwork,
    fault: Fault,
    final_closed: np.ndarray,
    served_kw: np.ndarray,
    islands: tuple[int, ...] = (),
) -> list[SwitchingStep]:
    """The ordered operations taking the normal state to ``final_closed``, starting the
    grid-forming units ``islands`` (pandapower storage indices) before any tie is closed.

    ``served_kw`` is the served load per bus position in the final plan [kW]; a bus counts
    as served in an intermediate state when it is energised there.
    """
    a, specs = rn.arrays, rn.config.type_specs
    dead = set(fault.dead_buses)
    live = live_sources(rn, fault)
    state = a.closed.copy()
    ops: list[tuple[str, str, int, tuple[int, ...], str]] = []
    for k in fault.open_branches:
        # each end of a faulted line needs an open switch: a tie is open at one end only
        ends: tuple[tuple[int, ...], ...]
        if rn.line_switches_virtual:
            ends = (rn.sw_f[k],) if a.closed[k] else ()
        else:
            ends = tuple(
                e
                for e in (rn.sw_f[k], rn.sw_t[k])
                if e and all(bool(rn.net.switch.at[i, "closed"]) for i in e)
            )
        ids = _open_ids(rn, k, ends)
        if ids:
            types = [_type_of(rn, i) for i in ids]
            ops.append(("isolate", "open", k, ids, max(types, key=_TYPE_ORDER.__getitem__)))
    isolated = set(fault.open_branches)
    dead_sec = {int(rn.section[b]) for b in dead}
    sectionalise: list[tuple[str, str, int, tuple[int, ...], str]] = []
    for kk in np.flatnonzero(a.closed & ~final_closed).tolist():
        if kk not in isolated:
            ids = _open_ids(rn, kk, (rn.sw_f[kk] + rn.sw_t[kk],))
            # opening the boundary of a faulted section is part of isolating the fault
            bounds_dead = int(rn.section[a.f[kk]]) in dead_sec or int(rn.section[a.t[kk]]) in dead_sec
            op = ("isolate" if bounds_dead else "open", "open", kk, ids, str(rn.open_type[kk]))
            (ops if bounds_dead else sectionalise).append(op)
    ops.extend(sectionalise)
    to_close = [int(k) for k in np.flatnonzero(~a.closed & final_closed)]
    steps: list[SwitchingStep] = []
    t_min = 0.0

    def record(phase: str, action: str, k: int, ids: tuple[int, ...], typ: str) -> None:
        nonlocal t_min
        state[k] = action == "close"
        dur = specs[typ].operation_time_min  # type: ignore[index]
        t_min += dur
        kw = float(served_kw[energised_buses(rn, state, live)].sum())
        steps.append(
            SwitchingStep(len(steps) + 1, phase, action, rn.branch_label(k), ids, typ, dur, t_min, kw)
        )

    for op in ops:
        record(*op)
    for u in rn.island_units:
        if u.storage in islands:
            live.append(u.bus)
            dur = specs[ISLAND_START_TYPE].operation_time_min
            t_min += dur
            kw = float(served_kw[energised_buses(rn, state, live)].sum())
            steps.append(SwitchingStep(len(steps) + 1, "island", "start", f"storage {u.storage}", (),
                                       ISLAND_START_TYPE, dur, t_min, kw, unit=u.storage))  # fmt: skip
    while to_close:
        en = energised_buses(rn, state, live)

        def rank(k: int, en: np.ndarray = en) -> tuple[int, int, float]:
            trial = state.copy()
            trial[k] = True
            gain = float(served_kw[energised_buses(rn, trial, live)].sum() - served_kw[en].sum())
            touches = int(en[a.f[k]] or en[a.t[k]])
            return (-touches, _TYPE_ORDER[str(rn.close_type[k])], -gain)

        k = min(to_close, key=rank)
        to_close.remove(k)
        ids = tuple(rn.sw_f[k] + rn.sw_t[k]) if not rn.line_switches_virtual else (int(a.element[k]),)
        if not rn.line_switches_virtual:
            ids = tuple(i for i in dict.fromkeys(ids) if not bool(rn.net.switch.at[i, "closed"]))
        record("close", "close", k, ids, str(rn.close_type[k]))
    return steps


def apply_steps(
    rn: RestorationNetwork, steps: list[SwitchingStep], upto: int | None = None
) -> dict[int, bool]:
    """Switch-level states after the first ``upto`` steps: {switch id: closed}, starting from normal."""
    if rn.line_switches_virtual:
        state = {
            int(e): bool(c)
            for e, c, kd in zip(rn.arrays.element, rn.arrays.closed, rn.arrays.kind, strict=True)
            if kd == "line"
        }
    else:
        state = {int(i): bool(c) for i, c in rn.net.switch["closed"].items()}
    for st in steps[: len(steps) if upto is None else upto]:
        if st.unit is not None:
            continue
        for i in st.switch_ids:
            state[i] = st.action == "close"
    return state
