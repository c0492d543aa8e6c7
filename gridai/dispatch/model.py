"""``build_model``: the dispatch model as a readable list of builder calls."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from gridai.dispatch.assets import (
    add_ev_fleets,
    add_flex_curtailable,
    add_flex_shiftable,
    add_pv,
)
from gridai.dispatch.config import DispatchConfig
from gridai.dispatch.inputs import DispatchInputs
from gridai.dispatch.objective import (
    GridVars,
    add_emissions_cost,
    add_energy_cost,
    add_grid_exchange,
    add_injections_to_rows,
    add_peak_charge,
    add_power_balance,
)
from gridai.dispatch.storage import (
    BatteryVars,
    add_battery_vars,
    add_degradation_cost,
    add_storage_exclusive,
    add_storage_ramp,
    add_storage_soc,
    add_storage_terminal,
)
from gridai.dispatch.vpp import add_vpp_aggregate, add_vpp_tracking
from gridai.grid.lindistflow import Injection, LdfVars, add_lindistflow
from gridai.optim.linear import LinearModel, RowFamily, VarBlock


@dataclass
class DispatchModel:
    """A built dispatch model and handles on its variable and constraint families."""

    lm: LinearModel
    inputs: DispatchInputs
    battery: BatteryVars
    grid: GridVars
    injections: list[Injection]
    vpp_agg: VarBlock | None
    balance: RowFamily | None
    network: dict[str, LdfVars] = field(default_factory=dict)
    build_s: float = 0.0


def build_model(cfg: DispatchConfig, data: DispatchInputs, name: str = "dispatch") -> DispatchModel:
    """Build the dispatch LP/MILP for every feeder in ``data`` (scenario x feeder x interval)."""
    t0 = time.perf_counter()
    m = LinearModel(name)
    m.weights = cfg.weights.model_dump()
    m.time_labels = [str(t) for t in data.times]
    dt, n_t = data.dt_h, data.n_t
    n_s, n_f = data.load_kw.shape[:2]
    bat = data.batteries

    # assets (first stage: no scenario dimension)
    bv = add_battery_vars(m, bat, n_t)
    add_storage_soc(m, bat, bv, dt)
    add_storage_terminal(m, bat, bv)
    add_storage_ramp(m, bat, bv, dt)
    add_storage_exclusive(m, bat, bv)
    add_degradation_cost(m, bat, bv, dt)
    injections = [
        Injection(bv.dis, 1.0, bat.feeder, bat.bus, bat.name, "battery_discharge"),
        Injection(bv.ch, -1.0, bat.feeder, bat.bus, bat.name, "battery_charge"),
    ]
    for inj in (
        add_pv(m, data.pv, dt),
        add_ev_fleets(m, data.ev, dt),
        add_flex_shiftable(m, data.shift, dt),
        add_flex_curtailable(m, data.curtail, dt),
    ):
        if inj is not None:
            injections.append(inj)

    # grid exchange (recourse: per scenario) and the feeder balance / network
    import_limit = np.array([f.cfg.import_limit_kw or np.inf for f in data.feeders])
    allow_export = np.array([f.cfg.allow_export for f in data.feeders])
    grid = add_grid_exchange(m, (n_s, n_f, n_t), import_limit, allow_export, [f.name for f in data.feeders])
    plain = [i for i, f in enumerate(data.feeders) if f.radial is None]
    balance = None
    if plain:
        balance = add_power_balance(m, grid, injections, data.load_kw, [f.name for f in data.feeders])
        if len(plain) < n_f:  # network feeders get their balance from LinDistFlow: free their rows
            _relax_rows(m, balance, [i for i in range(n_f) if i not in plain])
    network = {}
    for i, fi in enumerate(data.feeders):
        if fi.radial is None or fi.load_scale is None or fi.cfg.network is None:
            continue
        nc = fi.cfg.network
        head = [(1.0, grid.imp.idx[:, i, :])] + (
            [(-1.0, grid.exp.idx[:, i, :])] if grid.exp is not None else []
        )
        network[fi.name] = add_lindistflow(
            m, f"ldf_{i}", fi.radial, fi.load_scale, injections, i, head,
            v_min_pu=nc.v_min_pu, v_max_pu=nc.v_max_pu, v_margin_pu=nc.v_margin_pu,
            v_slack_pu=fi.v_slack_pu, thermal_limits=nc.thermal_limits,
        )  # fmt: skip

    # objective terms
    tariff = cfg.tariff
    add_energy_cost(m, grid, data.price_per_kwh, tariff.export_price_per_kwh, data.weights, dt)
    add_peak_charge(m, grid, data.day_of_t, tariff.demand_charge_per_kw, data.weights)
    add_emissions_cost(m, grid, data.carbon_kg_per_kwh, tariff.carbon_price_per_kg, data.weights, dt)

    # the virtual power plant
    # (a variable only when tracked or enveloped: its rows couple every asset and slow the LP)
    agg = None
    if data.vpp_target_kw is not None or cfg.vpp.envelope:
        agg = add_vpp_aggregate(m, injections, n_t)
    if agg is not None and data.vpp_target_kw is not None:
        add_vpp_tracking(m, agg, data.vpp_target_kw, cfg.vpp.tracking_penalty_per_kwh, dt)
    return DispatchModel(m, data, bv, grid, injections, agg, balance, network, time.perf_counter() - t0)


def _relax_rows(m: LinearModel, fam: RowFamily, feeders: list[int]) -> None:
    """Free the single-bus balance rows of network feeders (their balance is LinDistFlow's)."""
    mask = np.zeros(fam.shape, dtype=bool)
    mask[:, feeders, :] = True
    m.free_rows(fam, mask)


__all__ = ["DispatchModel", "build_model", "add_injections_to_rows"]
