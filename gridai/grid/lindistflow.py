"""LinDistFlow (linearised DistFlow) on radial feeders, as vectorised constraint families.

Baran & Wu (1989), "Network reconfiguration in distribution systems for loss reduction and load
balancing", IEEE Trans. Power Delivery 4(2); linearised by dropping the loss terms.

For each tree branch ``k`` from parent bus ``i`` (towards the source) to child bus ``j``,
scenario ``s`` and interval ``t``, with flows ``P[s,k,t]`` [kW], ``Q[s,k,t]`` [kvar] and squared
voltage magnitudes ``w[s,j,t]`` [pu^2]:

* power balance at every energised bus ``j``:
  ``sum_{k into j} P_k - sum_{k out of j} P_k + src_j + inj_j = p_load_j`` (same for ``Q``) [kW]
* voltage drop: ``w_j = w_i - 2 (r_k P_k + x_k Q_k) / (1000 S_base)`` [pu^2], ``w_source = v_slack^2``
* voltage limits: ``(v_min + margin)^2 <= w_j <= v_max^2`` (the margin covers LinDistFlow's
  overestimate of voltage, about 0.007 pu at 150 % load on case33bw)
* thermal limits: the inscribed regular octagon of the circle ``P^2 + Q^2 <= S_max^2``:
  ``|P cos(a) + Q sin(a)| <= S_max cos(pi/8)``, ``a in {0, pi/4, pi/2, 3pi/4}`` [kVA]

The equations every LinDistFlow builder shares (this vectorised one for dispatch, in kW, and
the restoration MILP's per-element one, in pu, with its switch-dependent big-M terms) are
written once, at the top of this module: :func:`branch_incidence` (power balance),
:func:`voltage_drop_coefficients` (voltage drop, with off-nominal taps) and the octagon
(:data:`OCTAGON_APOTHEM`, :func:`octagon_facets`, :func:`octagon_limits`, :func:`in_octagon`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gridai.exceptions import GridAIDataError
from gridai.optim.linear import LinearModel, RowFamily, VarBlock

if TYPE_CHECKING:  # pandapower (behind topology) takes seconds to import: only when networks are used
    from gridai.grid.topology import FeederArrays

# -- the equations shared by every LinDistFlow builder ----------------------------------------

#: Apothem of the regular octagon inscribed in the unit circle [-]: its eight facets lie at
#: ``S cos(pi/8)`` from the origin, so the octagon lies inside ``P^2 + Q^2 <= S^2`` and cuts at
#: most ``1 - cos(pi/8)`` = 7.6 % off the rating (in the directions normal to a facet).
OCTAGON_APOTHEM = float(np.cos(np.pi / 8))


def octagon_facets() -> tuple[tuple[float, float], ...]:
    """Facet normals ``(cos a, sin a)``, ``a = 0, pi/4, pi/2, 3pi/4``, of the inscribed octagon.

    The regular octagon inscribed in ``P^2 + Q^2 <= S^2`` is the four two-sided rows
    ``|cos(a) P + sin(a) Q| <= S cos(pi/8)`` [unit of S]. Components below 1e-12
    (``cos(pi/2)``, ``sin(0)``) are exactly 0.
    """
    out = []
    for ang in np.arange(4) * np.pi / 4:
        c, s = float(np.cos(ang)), float(np.sin(ang))
        out.append((c if abs(c) > 1e-12 else 0.0, s if abs(s) > 1e-12 else 0.0))
    return tuple(out)


def octagon_limits(s_max: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """The same octagon with integer coefficients: ``(axis, diagonal)`` limits [unit of S].

    ``|P| <= axis``, ``|Q| <= axis`` (facets ``a = 0, pi/2``) and ``|P| + |Q| <= diagonal``
    (facets ``a = pi/4, 3pi/4`` times ``sqrt(2)``), with ``axis = S cos(pi/8)`` and
    ``diagonal = sqrt(2) S cos(pi/8)``.
    """
    s = np.asarray(s_max, dtype=float)
    return s * OCTAGON_APOTHEM, np.sqrt(2.0) * s * OCTAGON_APOTHEM


def in_octagon(p: float, q: float, s_max: float) -> bool:
    """``(P, Q)`` lies in the inscribed octagon of ``P^2 + Q^2 <= S^2`` (same units)."""
    axis, diagonal = octagon_limits(s_max)
    return bool(max(abs(p), abs(q)) <= axis and abs(p) + abs(q) <= diagonal)


def branch_incidence(f: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bus-branch incidence of the LinDistFlow power balance (lossless).

    The balance at bus ``i`` is ``sum_{k: t_k = i} P_k - sum_{k: f_k = i} P_k + P_source,i =
    P_load,i`` (the same for ``Q``) with ``P_k`` the flow of branch ``k`` from ``f_k`` to ``t_k``
    [kW or pu]: a flow enters its to-bus (+1) and leaves its from-bus (-1).

    Returns
    -------
    bus, branch, sign
        One entry per branch end: ``(t_k, k, +1)`` for every ``k``, then ``(f_k, k, -1)``.
    """
    f = np.asarray(f, dtype=np.int64)
    t = np.asarray(t, dtype=np.int64)
    k = np.arange(len(f), dtype=np.int64)
    return np.concatenate([t, f]), np.concatenate([k, k]), np.repeat([1.0, -1.0], len(f))


def voltage_drop_coefficients(
    r_pu: np.ndarray, x_pu: np.ndarray, tau2: np.ndarray | float, p_base: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients of LinDistFlow's voltage drop along each branch ``k`` from bus ``f`` to ``t``.

    ``U_t - U_f / tau2_k + 2 (r_k P_k + x_k Q_k) / p_base = 0``

    (Baran & Wu 1989, loss terms dropped), with ``U`` the squared voltage magnitudes [pu^2],
    ``tau2`` the squared off-nominal tap ratio at the ``f`` end [-] (1 without a tap), ``r, x``
    on the system base [pu] and ``P, Q`` the flow from ``f`` to ``t`` in units of ``p_base``:
    1 for pu, ``1000 s_base_mva`` for kW / kvar.

    Returns
    -------
    c_ut, c_uf, c_p, c_q
        Per branch: ``c_ut U_t + c_uf U_f + c_p P + c_q Q = 0``.
    """
    r = np.asarray(r_pu, dtype=float)
    x = np.asarray(x_pu, dtype=float)
    inv_tau2 = 1.0 / np.broadcast_to(np.asarray(tau2, dtype=float), r.shape)
    return np.ones(r.shape), -inv_tau2, 2.0 * r / p_base, 2.0 * x / p_base


@dataclass
class Injection:
    """``sign * block[a, t]`` [kW] injected by asset ``a`` at feeder ``feeder[a]``, bus ``bus[a]``."""

    block: VarBlock
    sign: float
    feeder: np.ndarray
    bus: list[int | None]
    asset: list[str]
    kind: str


@dataclass
class RadialFeeder:
    """A feeder oriented away from its sources (positions refer to ``arrays``)."""

    arrays: FeederArrays
    buses: np.ndarray  # energised bus positions (sorted)
    branch: np.ndarray  # tree branch positions
    parent: np.ndarray  # bus position on the source side of each tree branch
    child: np.ndarray
    slack: np.ndarray

    @property
    def n_bus(self) -> int:
        return len(self.buses)

    def local(self, bus_pos: np.ndarray) -> np.ndarray:
        """Map array bus positions to positions in ``buses``."""
        lookup = np.full(self.arrays.n_bus, -1, dtype=np.int64)
        lookup[self.buses] = np.arange(self.n_bus)
        return lookup[np.asarray(bus_pos, dtype=np.int64)]


def orient_radial(arrays: FeederArrays, closed: np.ndarray | None = None) -> RadialFeeder:
    """Breadth-first orientation of the closed branches from the source buses.

    Raises :class:`GridAIDataError` when the closed network is meshed.
    """
    from gridai.grid.topology import check_radial

    state = arrays.closed if closed is None else np.asarray(closed, dtype=bool)
    check_radial(arrays, state)
    adj: dict[int, list[tuple[int, int]]] = {}
    for k in np.flatnonzero(state).tolist():
        a, b = int(arrays.f[k]), int(arrays.t[k])
        adj.setdefault(a, []).append((k, b))
        adj.setdefault(b, []).append((k, a))
    seen = {int(s) for s in arrays.slack}
    frontier = [int(s) for s in arrays.slack]
    br: list[int] = []
    par: list[int] = []
    chi: list[int] = []
    while frontier:
        nxt = []
        for i in frontier:
            for k, j in adj.get(i, []):
                if j not in seen:
                    seen.add(j)
                    br.append(k)
                    par.append(i)
                    chi.append(j)
                    nxt.append(j)
        frontier = nxt
    return RadialFeeder(
        arrays=arrays,
        buses=np.array(sorted(seen), dtype=np.int64),
        branch=np.array(br, dtype=np.int64),
        parent=np.array(par, dtype=np.int64),
        child=np.array(chi, dtype=np.int64),
        slack=np.asarray(arrays.slack, dtype=np.int64),
    )


@dataclass
class LdfVars:
    p_kw: VarBlock  # (S, K, T)
    q_kvar: VarBlock  # (S, K, T)
    w_pu2: VarBlock  # (S, N, T)
    src_p_kw: VarBlock  # (S, n_slack, T)
    src_q_kvar: VarBlock
    balance: RowFamily  # P balance (S, N, T)


def injection_bus_positions(rf: RadialFeeder, inj: Injection, mask: np.ndarray) -> np.ndarray:
    """Local bus positions (in ``rf.buses``) of the injections' assets selected by ``mask``.

    An asset without a bus sits at the (first) source bus.
    """
    out = []
    for a in np.flatnonzero(mask):
        b = inj.bus[a]
        pos = int(rf.slack[0]) if b is None else rf.arrays.bus_pos(int(b))
        loc = int(rf.local(np.array([pos]))[0])
        if loc < 0:
            raise GridAIDataError(
                f"{inj.kind} {inj.asset[a]} is connected to bus {b}, which is not energised in network {rf.arrays.name!r}",
                asset=inj.asset[a],
                bus=b,
            )
        out.append(loc)
    return np.array(out, dtype=np.int64)


def add_lindistflow(
    m: LinearModel,
    prefix: str,
    rf: RadialFeeder,
    load_scale: np.ndarray,
    injections: Sequence[Injection],
    feeder_pos: int,
    head_terms: list[tuple[float, np.ndarray]],
    *,
    v_min_pu: float,
    v_max_pu: float,
    v_margin_pu: float,
    v_slack_pu: float,
    thermal_limits: bool,
) -> LdfVars:
    """Build LinDistFlow for one feeder (see the module docstring for the equations).

    Parameters
    ----------
    load_scale:
        ``(S, T)`` multiplier of the network's nominal bus loads [-].
    head_terms:
        ``(coef, cols)`` with cols shaped ``(S, T)``: the feeder-head exchange (import - export)
        that must equal the total source injection [kW].
    """
    a = rf.arrays
    n_s, n_t = load_scale.shape
    n_k, n_n, n_src = len(rf.branch), rf.n_bus, len(rf.slack)
    base_kw = 1000.0 * a.s_base_mva
    p = m.add_var(f"{prefix}_p_kw", (n_s, n_k, n_t), -np.inf, np.inf, description="branch active flow")
    q = m.add_var(f"{prefix}_q_kvar", (n_s, n_k, n_t), -np.inf, np.inf, description="branch reactive flow")
    w_lo = np.full(n_n, (v_min_pu + v_margin_pu) ** 2)
    w_hi = np.full(n_n, v_max_pu**2)
    src_loc = rf.local(rf.slack)
    w_lo[src_loc] = w_hi[src_loc] = v_slack_pu**2
    bus_lab = (
        [f"scenario {s}" for s in range(n_s)],
        [f"bus {int(b)}" for b in a.bus[rf.buses]],
        m.tlabels(n_t),
    )
    w = m.add_var(
        f"{prefix}_w_pu2",
        (n_s, n_n, n_t),
        w_lo[None, :, None],
        w_hi[None, :, None],
        description=f"squared bus voltage [pu^2] (limits {(v_min_pu + v_margin_pu) ** 2:.4f}..{v_max_pu**2:.4f})",
        labels=bus_lab,
    )
    sp_ = m.add_var(
        f"{prefix}_src_p_kw", (n_s, n_src, n_t), -np.inf, np.inf, description="source active power"
    )
    sq_ = m.add_var(
        f"{prefix}_src_q_kvar", (n_s, n_src, n_t), -np.inf, np.inf, description="source reactive power"
    )
    bus_names = [str(int(b)) for b in a.bus[rf.buses]]
    labels = ([f"scenario {s}" for s in range(n_s)], [f"bus {b}" for b in bus_names], m.tlabels(n_t))

    load_p = 1000.0 * a.p_load_mw[rf.buses][None, :, None] * load_scale[:, None, :]
    load_q = 1000.0 * a.q_load_mvar[rf.buses][None, :, None] * load_scale[:, None, :]
    fams = []
    for name, flow, src, load in (("p", p, sp_, load_p), ("q", q, sq_, load_q)):
        fam = m.add_rows(
            f"{prefix}_balance_{name}",
            [],
            load,
            load,
            description=f"{'active' if name == 'p' else 'reactive'} power balance at each bus",
            labels=labels,
        )
        s_i = np.arange(n_s)[:, None, None]
        t_i = np.arange(n_t)[None, None, :]
        bus, k, sign = branch_incidence(rf.local(rf.parent), rf.local(rf.child))
        rows = (s_i * n_n + bus[None, :, None]) * n_t + t_i
        shape = (n_s, len(k), n_t)
        coefs = np.broadcast_to(sign[None, :, None], shape).ravel()
        m.extend_rows(fam, np.broadcast_to(rows, shape), flow.idx[:, k, :], coefs)
        rows_src = (s_i * n_n + src_loc[None, :, None]) * n_t + t_i
        m.extend_rows(fam, np.broadcast_to(rows_src, src.shape), src.idx, 1.0)
        fams.append(fam)
    # asset injections (active power, unity power factor)
    for inj in injections:
        mask = inj.feeder == feeder_pos
        if not mask.any():
            continue
        loc = injection_bus_positions(rf, inj, mask)
        s_i = np.arange(n_s)[:, None, None]
        rows = (s_i * n_n + loc[None, :, None]) * n_t + np.arange(n_t)[None, None, :]
        cols = np.broadcast_to(inj.block.idx[mask][None], rows.shape)
        m.extend_rows(fams[0], rows, cols, inj.sign)
    # feeder head: exchange with the grid = total source injection
    m.add_rows(
        f"{prefix}_head",
        [*head_terms, *[(-1.0, sp_.idx[:, i, :]) for i in range(n_src)]],
        0.0,
        0.0,
        description="grid exchange at the feeder head",
    )
    # voltage drop along each tree branch, parent -> child (no taps: tau2 = 1)
    c_ut, c_uf, c_p, c_q = voltage_drop_coefficients(a.r_pu[rf.branch], a.x_pu[rf.branch], 1.0, base_kw)
    m.add_rows(
        f"{prefix}_voltage",
        [
            (c_ut[None, :, None], w.idx[:, rf.local(rf.child), :]),
            (c_uf[None, :, None], w.idx[:, rf.local(rf.parent), :]),
            (c_p[None, :, None], p.idx),
            (c_q[None, :, None], q.idx),
        ],
        0.0,
        0.0,
        description="LinDistFlow voltage drop",
        labels=(labels[0], [f"{a.kind[k]} {a.element[k]}" for k in rf.branch]),
    )
    if thermal_limits:
        s_max = 1000.0 * a.s_max_mva[rf.branch]
        fin = np.isfinite(s_max) & (s_max > 0)
        if fin.any():
            lim = (s_max[fin] * OCTAGON_APOTHEM)[None, :, None]
            names = [f"{a.kind[k]} {a.element[k]}" for k in rf.branch[fin]]
            for j, (cos_a, sin_a) in enumerate(octagon_facets()):
                terms = [(c, blk.idx[:, fin, :]) for c, blk in ((cos_a, p), (sin_a, q)) if c != 0.0]
                m.add_rows(
                    f"{prefix}_thermal_{j}",
                    terms,
                    -lim,
                    lim,
                    description="line/transformer thermal limit",
                    labels=(labels[0], names),
                )
    return LdfVars(p, q, w, sp_, sq_, fams[0])
