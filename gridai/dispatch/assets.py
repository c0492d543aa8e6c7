"""PV, EV fleets and flexible loads: variables, constraint families and their grid injections.

Every asset family returns :class:`Injection` records: ``sign * x[a,t]`` [kW] is what asset
``a`` injects into its feeder (positive = generation / load reduction). The power balance,
LinDistFlow and the VPP aggregate are built from these records only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridai.grid.lindistflow import Injection
from gridai.optim.linear import LinearModel


@dataclass
class PvArrays:
    name: list[str]
    feeder: np.ndarray
    bus: list[int | None]
    profile_kw: np.ndarray  # (n_pv, T) available output
    curtailment_cost_per_kwh: np.ndarray


@dataclass
class EvArrays:
    name: list[str]
    feeder: np.ndarray
    bus: list[int | None]
    max_power_kw: np.ndarray
    efficiency: np.ndarray
    available: np.ndarray  # (n_ev, T) bool: plugged in
    session: np.ndarray  # (n_ev, T) int: session number of each interval, -1 outside
    session_energy_kwh: list[np.ndarray]  # per fleet: energy needed for each session [kWh]


@dataclass
class FlexArrays:
    name: list[str]
    feeder: np.ndarray
    bus: list[int | None]
    max_power_kw: np.ndarray
    window: np.ndarray  # (n, T) bool, shiftable: allowed; curtailable: all True
    window_id: np.ndarray  # (n, T) int: daily window number, -1 outside
    window_energy_kwh: list[np.ndarray]
    price_per_kwh: np.ndarray


def add_pv(m: LinearModel, pv: PvArrays, dt_h: float) -> Injection | None:
    """PV output with curtailment.

    ``0 <= pv[k,t] <= profile_kw[k,t]`` [kW]; curtailment cost
    ``sum c[k] * (profile_kw[k,t] - pv[k,t]) * dt`` [currency] (a constant minus a linear term).
    """
    if not pv.name:
        return None
    blk = m.add_var("pv_kw", pv.profile_kw.shape, 0.0, pv.profile_kw, description="PV output")
    c = pv.curtailment_cost_per_kwh[:, None] * dt_h
    if np.any(c):
        m.add_cost(
            "curtailment", blk.idx, -np.broadcast_to(c, blk.shape), constant=float((c * pv.profile_kw).sum())
        )
    return Injection(blk, 1.0, pv.feeder, pv.bus, pv.name, "pv")


def add_ev_fleets(m: LinearModel, ev: EvArrays, dt_h: float) -> Injection | None:
    """EV fleet charging.

    ``0 <= ev[k,t] <= max_power_kw[k] * available[k,t]`` [kW] and, per charging session ``s``,
    ``sum_{t in s} efficiency[k] * ev[k,t] * dt = session_energy_kwh[k][s]`` [kWh].
    """
    if not ev.name:
        return None
    blk = m.add_var(
        "ev_kw",
        ev.available.shape,
        0.0,
        ev.max_power_kw[:, None] * ev.available,
        description="EV fleet charging",
    )
    _add_window_energy(
        m,
        blk.idx,
        ev.session,
        ev.session_energy_kwh,
        ev.efficiency * dt_h,
        [f"{n} session" for n in ev.name],
        "ev_energy",
        "EV energy delivered by departure",
    )
    return Injection(blk, -1.0, ev.feeder, ev.bus, ev.name, "ev")


def add_flex_shiftable(m: LinearModel, fx: FlexArrays, dt_h: float) -> Injection | None:
    """Shiftable load: ``0 <= x[k,t] <= max_power_kw[k] * window[k,t]`` [kW] and, per daily window ``w``,
    ``sum_{t in w} x[k,t] * dt = window_energy_kwh[k][w]`` [kWh]."""
    if not fx.name:
        return None
    blk = m.add_var(
        "flex_shift_kw",
        fx.window.shape,
        0.0,
        fx.max_power_kw[:, None] * fx.window,
        description="shifted load",
    )
    _add_window_energy(
        m,
        blk.idx,
        fx.window_id,
        fx.window_energy_kwh,
        np.full(len(fx.name), dt_h),
        [f"{n} window" for n in fx.name],
        "flex_shift_energy",
        "shiftable energy per window",
    )
    return Injection(blk, -1.0, fx.feeder, fx.bus, fx.name, "flex_shift")


def add_flex_curtailable(m: LinearModel, fx: FlexArrays, dt_h: float) -> Injection | None:
    """Curtailable load: ``0 <= x[k,t] <= max_power_kw[k]`` [kW] load reduction, paid
    ``sum price_per_kwh[k] * x[k,t] * dt`` [currency] (cost term ``curtailment``)."""
    if not fx.name:
        return None
    blk = m.add_var(
        "flex_curtail_kw",
        fx.window.shape,
        0.0,
        fx.max_power_kw[:, None] * fx.window,
        description="curtailed load",
    )
    m.add_cost("curtailment", blk.idx, np.broadcast_to(fx.price_per_kwh[:, None] * dt_h, blk.shape))
    return Injection(blk, 1.0, fx.feeder, fx.bus, fx.name, "flex_curtail")


def _add_window_energy(
    m: LinearModel,
    idx: np.ndarray,
    window_id: np.ndarray,
    energy_kwh: list[np.ndarray],
    coef_kwh_per_kw: np.ndarray,
    prefixes: list[str],
    family: str,
    description: str,
) -> None:
    """Energy per window: ``sum_{t in w} coef[k] * x[k,t] = energy_kwh[k][w]`` [kWh].

    ``window_id[k,t]`` numbers asset ``k``'s windows (``-1`` outside every window); ``coef`` is
    the energy per kW and interval (``dt`` [h], times an efficiency where there is one).
    """
    rows, cols, coefs, names, n_w = [], [], [], [], 0
    for k in range(len(prefixes)):
        inside = np.flatnonzero(window_id[k] >= 0)
        rows.append(n_w + window_id[k, inside])
        cols.append(idx[k, inside])
        coefs.append(np.full(len(inside), coef_kwh_per_kw[k]))
        names += [f"{prefixes[k]} {w}" for w in range(len(energy_kwh[k]))]
        n_w += len(energy_kwh[k])
    if n_w:
        need = np.concatenate(energy_kwh)
        fam = m.add_rows(family, [], need, need, description=description, labels=(names,))
        m.extend_rows(fam, np.concatenate(rows), np.concatenate(cols), np.concatenate(coefs))
