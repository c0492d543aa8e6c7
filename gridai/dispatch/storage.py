"""Battery storage: variables and constraint families, vectorised over batteries x intervals.

Notation (per battery ``b``, interval ``t`` of length ``dt`` [h]):
``ch[b,t]``, ``dis[b,t]`` charge / discharge power [kW] at the battery terminals,
``soc[b,t]`` energy stored at the END of interval ``t`` [kWh].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridai.optim.linear import LinearModel, VarBlock


@dataclass
class BatteryArrays:
    """Resolved battery parameters, one entry per battery (units in the names)."""

    name: list[str]
    feeder: np.ndarray  # feeder position of each battery
    bus: list[int | None]
    charge_kw: np.ndarray
    discharge_kw: np.ndarray
    energy_kwh: np.ndarray
    eta_charge: np.ndarray
    eta_discharge: np.ndarray
    standing_loss_per_h: np.ndarray
    soc_min_kwh: np.ndarray
    soc_max_kwh: np.ndarray
    soc_initial_kwh: np.ndarray
    soc_terminal_kwh: np.ndarray  # nan: no target
    cyclic: np.ndarray
    degradation_cost_per_kwh: np.ndarray
    ramp_kw_per_h: np.ndarray  # nan: no ramp limit
    no_simultaneous: np.ndarray

    @property
    def n(self) -> int:
        return len(self.name)


@dataclass
class BatteryVars:
    ch: VarBlock
    dis: VarBlock
    soc: VarBlock


def add_battery_vars(m: LinearModel, bat: BatteryArrays, n_t: int) -> BatteryVars:
    """Power and SoC variables with their bounds.

    ``0 <= ch[b,t] <= charge_kw[b]``, ``0 <= dis[b,t] <= discharge_kw[b]`` [kW],
    ``soc_min_kwh[b] <= soc[b,t] <= soc_max_kwh[b]`` [kWh].
    """
    shape = (bat.n, n_t)
    lab = ([f"battery {n}" for n in bat.name], m.tlabels(n_t))
    ch = m.add_var(
        "battery_ch_kw",
        shape,
        0.0,
        bat.charge_kw[:, None],
        description="battery charge power [kW]",
        labels=lab,
    )
    dis = m.add_var(
        "battery_dis_kw",
        shape,
        0.0,
        bat.discharge_kw[:, None],
        description="battery discharge power [kW]",
        labels=lab,
    )
    soc = m.add_var(
        "battery_soc_kwh",
        shape,
        bat.soc_min_kwh[:, None],
        bat.soc_max_kwh[:, None],
        description="battery SoC [kWh]",
        labels=lab,
    )
    return BatteryVars(ch, dis, soc)


def add_storage_soc(m: LinearModel, bat: BatteryArrays, v: BatteryVars, dt_h: float) -> None:
    """SoC balance of every battery and interval.

    ``soc[b,t] = k[b] * soc[b,t-1] + eta_c[b] * dt * ch[b,t] - dt / eta_d[b] * dis[b,t]``  [kWh]

    with ``k[b] = (1 - standing_loss_per_h[b]) ** dt`` and ``soc[b,-1] = soc_initial_kwh[b]``.
    """
    n_b, n_t = v.soc.shape
    keep = (1.0 - bat.standing_loss_per_h) ** dt_h
    prev = np.full((n_b, n_t), -1, dtype=np.int64)
    prev[:, 1:] = v.soc.idx[:, :-1]
    rhs = np.zeros((n_b, n_t))
    rhs[:, 0] = keep * bat.soc_initial_kwh
    m.add_rows(
        "battery_soc",
        [
            (1.0, v.soc.idx),
            (-keep[:, None], prev),
            (-bat.eta_charge[:, None] * dt_h, v.ch.idx),
            (dt_h / bat.eta_discharge[:, None], v.dis.idx),
        ],
        rhs,
        rhs,
        description="SoC balance (energy stored follows charge, discharge and standing loss)",
        labels=(bat.name, m.tlabels(n_t)),
    )


def add_storage_terminal(m: LinearModel, bat: BatteryArrays, v: BatteryVars) -> None:
    """End-of-horizon SoC.

    Target: ``soc[b,T-1] >= soc_terminal_kwh[b]``; cyclic (no target): ``soc[b,T-1] = soc_initial_kwh[b]`` [kWh].
    """
    target = np.isfinite(bat.soc_terminal_kwh)
    cyc = bat.cyclic & ~target
    last = v.soc.idx[:, -1]
    if target.any():
        m.add_rows(
            "battery_terminal_soc",
            [(1.0, last[target])],
            bat.soc_terminal_kwh[target],
            np.inf,
            description="terminal SoC target",
            labels=([n for n, k in zip(bat.name, target, strict=True) if k],),
        )
    if cyc.any():
        m.add_rows(
            "battery_cyclic_soc",
            [(1.0, last[cyc])],
            bat.soc_initial_kwh[cyc],
            bat.soc_initial_kwh[cyc],
            description="cyclic SoC (end = initial)",
            labels=([n for n, k in zip(bat.name, cyc, strict=True) if k],),
        )


def add_storage_ramp(m: LinearModel, bat: BatteryArrays, v: BatteryVars, dt_h: float) -> None:
    """Ramp limit on net power ``p = dis - ch`` for batteries that have one.

    ``|p[b,t] - p[b,t-1]| <= ramp_kw_per_h[b] * dt``  [kW], for ``t >= 1``.
    """
    has = np.isfinite(bat.ramp_kw_per_h)
    if not has.any() or v.ch.shape[1] < 2:
        return
    lim = (bat.ramp_kw_per_h[has] * dt_h)[:, None]
    ch, dis = v.ch.idx[has], v.dis.idx[has]
    m.add_rows(
        "battery_ramp",
        [(1.0, dis[:, 1:]), (-1.0, ch[:, 1:]), (-1.0, dis[:, :-1]), (1.0, ch[:, :-1])],
        -lim,
        lim,
        description="ramp limit",
        labels=([n for n, k in zip(bat.name, has, strict=True) if k], m.tlabels(v.ch.shape[1])[1:]),
    )


def add_storage_exclusive(m: LinearModel, bat: BatteryArrays, v: BatteryVars) -> VarBlock | None:
    """No simultaneous charge and discharge (binary ``u[b,t]``: 1 = charging allowed).

    ``ch[b,t] <= charge_kw[b] * u[b,t]``, ``dis[b,t] <= discharge_kw[b] * (1 - u[b,t])`` [kW].
    Needed only when prices can go negative (otherwise an LP never does both with eta < 1).
    """
    has = bat.no_simultaneous
    if not has.any():
        return None
    n_t = v.ch.shape[1]
    names = [n for n, k in zip(bat.name, has, strict=True) if k]
    u = m.add_var("battery_mode", (int(has.sum()), n_t), 0.0, 1.0, integer=True, description="charging mode")
    m.add_rows(
        "battery_excl_ch",
        [(1.0, v.ch.idx[has]), (-bat.charge_kw[has][:, None], u.idx)],
        -np.inf,
        0.0,
        description="charge only in charging mode",
        labels=(names, m.tlabels(n_t)),
    )
    m.add_rows(
        "battery_excl_dis",
        [(1.0, v.dis.idx[has]), (bat.discharge_kw[has][:, None], u.idx)],
        -np.inf,
        bat.discharge_kw[has][:, None],
        description="discharge only outside charging mode",
        labels=(names, m.tlabels(n_t)),
    )
    return u


def add_degradation_cost(m: LinearModel, bat: BatteryArrays, v: BatteryVars, dt_h: float) -> None:
    """Degradation: ``sum_b,t degradation_cost_per_kwh[b] * (ch[b,t] + dis[b,t]) * dt``  [currency]."""
    c = np.broadcast_to(bat.degradation_cost_per_kwh[:, None] * dt_h, v.ch.shape)
    if np.any(c):
        m.add_cost("degradation", v.ch.idx, c)
        m.add_cost("degradation", v.dis.idx, c)


def max_reachable_soc_kwh(bat: BatteryArrays, n_t: int, dt_h: float) -> np.ndarray:
    """Highest SoC each battery can reach by the end of the horizon [kWh] (charging flat out)."""
    keep = (1.0 - bat.standing_loss_per_h) ** dt_h
    soc = bat.soc_initial_kwh.copy()
    for _ in range(n_t):
        soc = np.minimum(keep * soc + bat.eta_charge * bat.charge_kw * dt_h, bat.soc_max_kwh)
    return soc


def min_reachable_soc_kwh(bat: BatteryArrays, n_t: int, dt_h: float) -> np.ndarray:
    """Lowest SoC each battery can reach by the end of the horizon [kWh] (discharging flat out)."""
    keep = (1.0 - bat.standing_loss_per_h) ** dt_h
    soc = bat.soc_initial_kwh.copy()
    for _ in range(n_t):
        soc = np.maximum(keep * soc - bat.discharge_kw * dt_h / bat.eta_discharge, bat.soc_min_kwh)
    return soc
