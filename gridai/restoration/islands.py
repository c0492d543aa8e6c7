"""Islands formed by grid-forming batteries: the units, their MILP rows and their AC check.

A battery whose inverter is grid-forming can black-start the part of an outage area that no
substation reaches (a fault in the substation section, or no tie with spare capacity) and
carry it as an island until repair. In the MILP such a unit's section may be the root of an
energised tree, exactly like a live substation section: the radiality argument of
:func:`~gridai.restoration.model.add_spanning_tree` still gives one source per
energised island. Power is limited by the inverter rating and by the usable energy spread over
the expected island duration (no time coupling is needed):

``0 <= P_u <= min(P_rated, E_usable / T_island) (1 - margin) delta_u``  [pu],

``E_usable = soc E_max - E_min`` [MWh]; the margin covers the losses LinDistFlow omits. When a
unit forms its island (``delta_u = 1``) its bus is held at the unit's voltage setpoint.

The verification replaces each started unit by an external grid (the island's slack) in the
pandapower copy, runs the AC power flow and checks the slack's power against the unit's limit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import pyomo.environ as pyo

from gridai.exceptions import GridAIDataError
from gridai.grid.lindistflow import octagon_limits
from gridai.grid.topology import FeederArrays
from gridai.restoration.config import RestorationConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IslandUnit:
    """A grid-forming battery that may energise an island.

    Attributes
    ----------
    storage:
        pandapower storage index.
    bus:
        Bus position (in ``FeederArrays``).
    p_max_kw:
        Sustained discharge limit over the island duration, before the MILP's margin [kW].
    s_max_kva:
        Inverter rating [kVA] (``inf`` when the network gives none).
    energy_kwh:
        Usable energy ``soc E_max - E_min`` [kWh].
    v_pu:
        Voltage setpoint when forming an island [pu].
    """

    storage: int
    bus: int
    p_max_kw: float
    s_max_kva: float
    energy_kwh: float
    v_pu: float


def _num(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return out


def island_units(
    net: pp.pandapowerNet, arrays: FeederArrays, cfg: RestorationConfig
) -> tuple[IslandUnit, ...]:
    """The configured grid-forming units of ``net`` with their limits.

    Raises
    ------
    GridAIDataError
        A configured storage index that is not in the network or out of service, or a unit
        with neither an energy content (``max_e_mwh``) nor a power rating.
    """
    if not cfg.island_storage:
        return ()
    table = net.storage
    pos = {int(b): i for i, b in enumerate(arrays.bus)}
    units = []
    for k in cfg.island_storage:
        if k not in table.index:
            have = (
                f"its storage indices are {sorted(int(i) for i in table.index)}"
                if len(table)
                else "it has none"
            )
            raise GridAIDataError(
                f"island_storage: storage {k} is not in network {arrays.name!r}; {have}", storage=k
            )
        row = table.loc[k]
        if not bool(row["in_service"]) or int(row["bus"]) not in pos:
            raise GridAIDataError(
                f"island_storage: storage {k} of network {arrays.name!r} is out of service (or on an "
                "out-of-service bus); remove it from island_storage or put it in service",
                storage=k,
            )
        e_max, e_min = _num(row.get("max_e_mwh")), _num(row.get("min_e_mwh"))
        soc = _num(row.get("soc_percent"))
        soc = 100.0 if np.isnan(soc) else soc
        energy_kwh = max(0.0, soc / 100.0 * e_max - (0.0 if np.isnan(e_min) else e_min)) * 1e3
        s_kva = _num(row.get("sn_mva")) * 1e3
        s_kva = s_kva if np.isfinite(s_kva) and s_kva > 0 else float("inf")
        p_rated = _num(row.get("max_p_mw")) * 1e3 if "max_p_mw" in table.columns else float("nan")
        p_rated = p_rated if np.isfinite(p_rated) and p_rated > 0 else s_kva
        if np.isnan(energy_kwh) or not np.isfinite(min(p_rated, energy_kwh)):
            raise GridAIDataError(
                f"storage {k} of network {arrays.name!r} needs max_e_mwh (energy) and sn_mva or max_p_mw "
                "(power rating) to form an island",
                storage=k,
            )
        p_max = min(p_rated, energy_kwh / cfg.island_duration_h)
        units.append(IslandUnit(int(k), pos[int(row["bus"])], p_max, s_kva, energy_kwh, cfg.island_v_pu))
    return tuple(units)


def check_one_unit_per_section(units: tuple[IslandUnit, ...], section: np.ndarray, name: str) -> None:
    """Two grid-forming units joined by branches that cannot be opened would share an island."""
    seen: dict[int, int] = {}
    for u in units:
        c = int(section[u.bus])
        if c in seen:
            raise GridAIDataError(
                f"network {name!r}: grid-forming storages {seen[c]} and {u.storage} are joined through "
                "branches that cannot be opened; an island has exactly one source, list only one of them "
                "in island_storage",
                storage=u.storage,
            )
        seen[c] = u.storage


def add_island_limits(m: pyo.ConcreteModel, p_max_pu: np.ndarray, s_max_pu: np.ndarray) -> None:
    """Power of each unit while it forms an island, nothing otherwise:
    ``0 <= P_u <= P_max delta_u``; ``|Q_u| <= S cos(pi/8) delta_u``,
    ``|P_u| + |Q_u| <= sqrt(2) S cos(pi/8) delta_u`` (``|Q_u| <= P_max delta_u`` without a rating)
    [pu]. Needs ``m.IU``, ``m.delta_u``, ``m.Pi`` and ``m.Qi`` (see ``model.add_power_balance``)."""
    axis, diagonal = octagon_limits(s_max_pu)  # the inverter's kVA circle as an inner octagon
    q_cap = np.where(np.isfinite(s_max_pu), axis, p_max_pu)
    m.island_p = pyo.Constraint(m.IU, rule=lambda m, k: m.Pi[k] <= float(p_max_pu[k]) * m.delta_u[k])
    m.island_p_pos = pyo.Constraint(m.IU, rule=lambda m, k: m.Pi[k] >= 0.0)
    m.island_q_pos = pyo.Constraint(m.IU, rule=lambda m, k: m.Qi[k] <= float(q_cap[k]) * m.delta_u[k])
    m.island_q_neg = pyo.Constraint(m.IU, rule=lambda m, k: -m.Qi[k] <= float(q_cap[k]) * m.delta_u[k])
    rated = [k for k in m.IU if np.isfinite(s_max_pu[k])]
    m.IUR = pyo.Set(initialize=rated)
    s_oct = {k: float(diagonal[k]) for k in rated}
    m.island_s_pos = pyo.Constraint(m.IUR, rule=lambda m, k: m.Pi[k] + m.Qi[k] <= s_oct[k] * m.delta_u[k])
    m.island_s_neg = pyo.Constraint(m.IUR, rule=lambda m, k: m.Pi[k] - m.Qi[k] <= s_oct[k] * m.delta_u[k])


def add_island_voltage(m: pyo.ConcreteModel, buses: np.ndarray, u_set: np.ndarray, big_u: float) -> None:
    """``|U_b(u) - v_set^2| <= M (1 - delta_u)`` [pu^2]: a forming unit holds its bus voltage."""
    m.island_v_hi = pyo.Constraint(
        m.IU, rule=lambda m, k: m.U[int(buses[k])] - float(u_set[k]) <= big_u * (1 - m.delta_u[k])
    )
    m.island_v_lo = pyo.Constraint(
        m.IU, rule=lambda m, k: float(u_set[k]) - m.U[int(buses[k])] <= big_u * (1 - m.delta_u[k])
    )


def with_island_slacks(net: pp.pandapowerNet, units: list[IslandUnit], bus_ids: np.ndarray) -> dict[int, int]:
    """Replace each started unit by an external grid at its bus (in place); {storage: ext_grid index}."""
    out = {}
    for u in units:
        net.storage.at[u.storage, "in_service"] = False
        out[u.storage] = int(
            pp.create_ext_grid(net, int(bus_ids[u.bus]), vm_pu=u.v_pu, name=f"island {u.storage}")
        )
    return out


def island_problems(
    net: pp.pandapowerNet, units: list[IslandUnit], slack: dict[int, int], load: dict[int, float]
) -> list[str]:
    """Units whose AC output exceeds their power limit or rating (after ``runpp``); ``load`` gets
    each unit's output as a share of its binding limit [-]."""
    problems = []
    for u in units:
        r = net.res_ext_grid.loc[slack[u.storage]]
        p_kw, q_kvar = float(r["p_mw"]) * 1e3, float(r["q_mvar"]) * 1e3
        load[u.storage] = max(p_kw / u.p_max_kw, float(np.hypot(p_kw, q_kvar)) / u.s_max_kva)
        if p_kw > u.p_max_kw + 1e-6:
            problems.append(
                f"storage {u.storage} supplies {p_kw:.1f} kW to its island, above its limit {u.p_max_kw:.1f} kW "
                f"({u.energy_kwh:.0f} kWh over the island duration)"
            )
        if np.hypot(p_kw, q_kvar) > u.s_max_kva * (1 + 1e-6):
            problems.append(
                f"storage {u.storage} loaded {np.hypot(p_kw, q_kvar):.1f} kVA > {u.s_max_kva:.1f} kVA"
            )
        if p_kw < -1e-3:
            problems.append(f"storage {u.storage} absorbs {-p_kw:.1f} kW in its island (it would charge)")
    return problems
