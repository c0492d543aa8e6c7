"""pandapower's internal model of a solved network, read into arrays, and results computed from it.

After ``pandapower.runpp`` the network holds pandapower's internal case (``net._ppc``, the
"internal" ``ppci`` under ``net._ppc["internal"]``: out-of-service buses and branches removed,
buses renumbered, isolated buses dropped) and the lookups from pandapower's tables to it
(``net._pd2ppc_lookups``). :func:`read_ppc_model` keeps what a power flow of other injections
needs: ``Ybus``, ``Yf``, ``Yt``, bus types, generator set points, ZIP fractions, the base-case
solution, and the positions of buses, loads, sgens, lines and trafos in that case.
:func:`network_results` turns solved bus voltages into pandapower's result quantities the way
``pandapower.results_branch`` computes them (pandapower 3.x field layout, ``pypower.idx_*``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from gridai.grid.newton_batch import BoolArray, ComplexArray, FloatArray, IntArray, PerUnitGrid

SQRT3 = math.sqrt(3.0)


@dataclass(frozen=True)
class PpcModel:
    """Arrays of pandapower's internal case of one network (``n`` internal buses).

    Attributes
    ----------
    grid:
        The per-unit network of the Newton solver.
    base_mva:
        System base [MVA] (``net.sn_mva``).
    v0:
        Base-case solution [pu], ``(n,)``.
    sd0_pu:
        Base-case demand per internal bus (loads, less sgens, plus motors, storage, wards) [pu].
    bus, bus_pos:
        pandapower bus index and its internal position (-1: out of service or not supplied).
    load_pos, sgen_pos:
        Internal bus of each ``net.load`` / ``net.sgen`` row (-1: not active).
    yf, yt, f_bus, t_bus, base_kv:
        Branch admittances [pu] ``(n_branch, n)``, branch end buses, bus base voltage [kV].
    line, line_row, line_ends_in, line_i_max_ka:
        pandapower line index, its internal branch (-1: out of service), whether both its end
        buses are supplied, and ``max_i_ka * df * parallel`` [kA].
    trafo, trafo_row, trafo_ends_in, trafo_vn_kv, trafo_sn_mva, trafo_derate, trafo_loading:
        The same for two-winding transformers, with rated voltages ``(n_trafo, 2)`` [kV], rated
        power [MVA], ``parallel * df`` [-] and pandapower's ``trafo_loading`` option.
    """

    grid: PerUnitGrid
    base_mva: float
    v0: ComplexArray
    sd0_pu: ComplexArray
    bus: IntArray
    bus_pos: IntArray
    load_pos: IntArray
    sgen_pos: IntArray
    yf: sp.csr_matrix
    yt: sp.csr_matrix
    f_bus: IntArray
    t_bus: IntArray
    base_kv: FloatArray
    line: IntArray
    line_row: IntArray
    line_ends_in: BoolArray
    line_i_max_ka: FloatArray
    trafo: IntArray
    trafo_row: IntArray
    trafo_ends_in: BoolArray
    trafo_vn_kv: FloatArray
    trafo_sn_mva: FloatArray
    trafo_derate: FloatArray
    trafo_loading: str


def read_ppc_model(net: Any) -> PpcModel:
    """Read pandapower's internal case of ``net`` (``runpp`` must have run and converged on it)."""
    from pandapower.pypower.idx_brch import F_BUS, T_BUS
    from pandapower.pypower.idx_bus import BASE_KV, CID_P, CID_Q, CZD_P, CZD_Q, PD, QD
    from pandapower.pypower.idx_gen import GEN_BUS, GEN_STATUS, PG

    ppc = net._ppc
    internal = ppc["internal"]
    bus = internal["bus"]
    n = bus.shape[0]
    base_mva = float(internal["baseMVA"])
    ref, pv, pq = (np.asarray(internal[k], dtype=np.int64) for k in ("ref", "pv", "pq"))
    gen = internal["gen"]
    on = gen[:, GEN_STATUS] > 0
    s_gen = np.zeros(n, dtype=np.complex128)
    np.add.at(s_gen, gen[on, GEN_BUS].real.astype(np.int64), gen[on, PG].real / base_mva)
    s_gen[ref] = 0.0  # the slack's power is an outcome; PV reactive power is not an equation

    def zip_fractions(ci: int, cz: int) -> FloatArray:
        i, z = bus[:, ci].real, bus[:, cz].real
        return np.vstack([1.0 - i - z, i, z])

    lookup = np.asarray(net._pd2ppc_lookups["bus"])

    def position(buses: Any) -> IntArray:
        p = lookup[np.asarray(buses, dtype=np.int64)].astype(np.int64)
        return np.where((p >= 0) & (p < n), p, -1)

    def element_pos(table: str) -> IntArray:
        if not len(net[table]):
            return np.zeros(0, dtype=np.int64)
        return np.where(net._is_elements[table], position(net[table]["bus"]), -1)

    # branches: ppc rows -> ppci rows (out-of-service branches are not in ppci)
    is_in = np.asarray(internal["branch_is"], dtype=bool)
    ppci_row = np.where(is_in, np.cumsum(is_in) - 1, -1)
    ends_in = (ppc["branch"][:, F_BUS].real < n) & (ppc["branch"][:, T_BUS].real < n)
    ranges = net._pd2ppc_lookups["branch"]

    def rows(table: str) -> tuple[IntArray, BoolArray]:
        if table not in ranges:
            return np.zeros(0, np.int64), np.zeros(0, bool)
        f, t = ranges[table]
        return ppci_row[f:t], ends_in[f:t]

    line_row, line_ends_in = rows("line")
    trafo_row, trafo_ends_in = rows("trafo")
    br, ln, tr = internal["branch"], net.line, net.trafo
    bus_index = net.bus.index.to_numpy(dtype=np.int64)
    return PpcModel(
        grid=PerUnitGrid(
            ybus=sp.csr_matrix(internal["Ybus"]),
            ref=ref,
            pv=pv,
            pq=pq,
            s_gen_pu=s_gen,
            zip_p=zip_fractions(CID_P, CZD_P),
            zip_q=zip_fractions(CID_Q, CZD_Q),
        ),
        base_mva=base_mva,
        v0=np.asarray(internal["V"], dtype=np.complex128),
        sd0_pu=(bus[:, PD].real + 1j * bus[:, QD].real) / base_mva,
        bus=bus_index,
        bus_pos=position(bus_index),
        load_pos=element_pos("load"),
        sgen_pos=element_pos("sgen"),
        yf=sp.csr_matrix(internal["Yf"]),
        yt=sp.csr_matrix(internal["Yt"]),
        f_bus=br[:, F_BUS].real.astype(np.int64),
        t_bus=br[:, T_BUS].real.astype(np.int64),
        base_kv=bus[:, BASE_KV].real,
        line=ln.index.to_numpy(dtype=np.int64),
        line_row=line_row,
        line_ends_in=line_ends_in,
        line_i_max_ka=(ln["max_i_ka"] * ln["df"] * ln["parallel"]).to_numpy(float),
        trafo=tr.index.to_numpy(dtype=np.int64),
        trafo_row=trafo_row,
        trafo_ends_in=trafo_ends_in,
        trafo_vn_kv=np.column_stack([tr["vn_hv_kv"].to_numpy(float), tr["vn_lv_kv"].to_numpy(float)]),
        trafo_sn_mva=tr["sn_mva"].to_numpy(float),
        trafo_derate=(tr["parallel"] * tr["df"]).to_numpy(float),
        trafo_loading=str(net._options.get("trafo_loading", "current")),
    )


def network_results(model: PpcModel, v: ComplexArray) -> dict[str, FloatArray]:
    """Bus voltages, line and trafo loadings and losses of ``K`` solved voltage vectors.

    Parameters
    ----------
    model:
        The network's internal case.
    v:
        Complex internal bus voltages [pu], ``(K, n)``.

    Returns
    -------
    dict
        ``vm_pu``, ``va_degree`` ``(K, n_bus)``; ``line_loading_percent`` ``(K, n_line)``;
        ``trafo_loading_percent`` ``(K, n_trafo)``; ``losses_mw`` ``(K,)``. Branch flows are
        ``S_f = V_f conj(Yf V)`` (pandapower's ``pfsoln``), end currents ``|S| / (sqrt(3) |V|
        V_base)`` = ``|I| S_base / (sqrt(3) V_base)`` [kA] (``results_branch._get_branch_flows``).
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # NaN of non-converged / unrated
        return _results(model, v)


def _results(model: PpcModel, v: ComplexArray) -> dict[str, FloatArray]:
    ok = model.bus_pos >= 0
    pick = np.where(ok, model.bus_pos, 0)
    vm = np.where(ok, np.abs(v[:, pick]), np.nan)
    va = np.where(ok, np.degrees(np.angle(v[:, pick])), np.nan)
    i_f, i_t = (model.yf @ v.T).T, (model.yt @ v.T).T  # (K, n_branch) [pu]
    s_f, s_t = v[:, model.f_bus] * np.conj(i_f), v[:, model.t_bus] * np.conj(i_t)
    losses = (s_f + s_t).real.sum(axis=1) * model.base_mva
    to_ka = model.base_mva / SQRT3
    i_ka = np.stack(
        [np.abs(i_f) * to_ka / model.base_kv[model.f_bus], np.abs(i_t) * to_ka / model.base_kv[model.t_bus]]
    )

    def branch(ends: FloatArray, rows: IntArray, ends_in: BoolArray) -> FloatArray:
        """``(2, K, n)`` end values of pandapower's rows (0 out of service, NaN unsupplied)."""
        vals = np.where(rows >= 0, ends[:, :, np.where(rows >= 0, rows, 0)], 0.0)
        return np.where(ends_in, vals, np.nan)

    line_ka = branch(i_ka, model.line_row, model.line_ends_in).max(axis=0)
    line_loading = np.where(model.line_i_max_ka != 0, line_ka / model.line_i_max_ka * 100.0, np.inf)
    if model.trafo_loading == "power":  # apparent power [MVA] over sn_mva
        s_mva = np.stack([np.abs(s_f), np.abs(s_t)]) * model.base_mva
        tr = branch(s_mva, model.trafo_row, model.trafo_ends_in)
    else:  # current over rated current: I [kA] * vn [kV] * sqrt(3) [MVA] over sn_mva
        tr = branch(i_ka, model.trafo_row, model.trafo_ends_in) * model.trafo_vn_kv.T[:, None, :] * SQRT3
    trafo_loading = tr.max(axis=0) / model.trafo_sn_mva * 100.0 / model.trafo_derate
    return {
        "vm_pu": vm,
        "va_degree": va,
        "line_loading_percent": line_loading,
        "trafo_loading_percent": trafo_loading,
        "losses_mw": losses,
    }
