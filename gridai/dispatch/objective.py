"""Grid exchange, the feeder power balance and the combinable cost terms.

Dimensions: scenario ``s`` (weight ``w[s]``, one scenario of weight 1 for deterministic
dispatch), feeder ``f``, interval ``t`` of ``dt`` hours. Grid exchange is a recourse decision:
it has a scenario dimension; asset schedules do not (they are first-stage).

Cost terms (each a named term of the objective, weighted by :class:`ObjectiveWeights`):

==========  ==================================================================  ==========
name        expression                                                          unit
==========  ==================================================================  ==========
energy      ``sum w[s] * (price[t] * imp[s,f,t] - export_price * exp[s,f,t]) * dt``  currency
peak        ``sum w[s] * demand_charge * peak[s,f,d]``                           currency
emissions   ``sum w[s] * carbon_price * carbon[t] * imp[s,f,t] * dt``            currency
==========  ==================================================================  ==========
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gridai.grid.lindistflow import Injection
from gridai.optim.linear import LinearModel, RowFamily, VarBlock


@dataclass
class GridVars:
    imp: VarBlock  # (S, F, T) import [kW]
    exp: VarBlock | None  # (S, F, T) export [kW]
    peak: VarBlock | None = None  # (S, F, D) peak import per day [kW]


def add_grid_exchange(
    m: LinearModel,
    shape: tuple[int, int, int],
    import_limit_kw: np.ndarray,
    allow_export: np.ndarray,
    feeder_names: Sequence[str] = (),
) -> GridVars:
    """Import ``0 <= imp[s,f,t] <= import_limit_kw[f]`` and export ``0 <= exp[s,f,t]`` [kW] (export only
    where allowed)."""
    names = [f"feeder {f}" for f in feeder_names] if len(feeder_names) else None
    lab = ([f"scenario {s}" for s in range(shape[0])], names, m.tlabels(shape[2]))
    imp = m.add_var(
        "grid_import_kw",
        shape,
        0.0,
        import_limit_kw[None, :, None],
        description="grid import [kW]",
        labels=lab,
    )
    exp = None
    if allow_export.any():
        ub = np.where(allow_export, np.inf, 0.0)[None, :, None]
        exp = m.add_var("grid_export_kw", shape, 0.0, ub, description="grid export [kW]", labels=lab)
    return GridVars(imp, exp)


def add_power_balance(
    m: LinearModel,
    g: GridVars,
    injections: Sequence[Injection],
    load_kw: np.ndarray,
    feeder_names: Sequence[str],
) -> RowFamily:
    """Single-bus power balance of each feeder, scenario and interval.

    ``imp[s,f,t] - exp[s,f,t] + sum_{a at f} sign_a * x[a,t] = load_kw[s,f,t]``  [kW]

    Its duals are the marginal cost of energy at the feeder head [currency per kW per interval].
    """
    n_s, n_f, n_t = load_kw.shape
    terms: list[tuple[float, np.ndarray]] = [(1.0, g.imp.idx)]
    if g.exp is not None:
        terms.append((-1.0, g.exp.idx))
    fam = m.add_rows(
        "power_balance",
        terms,
        load_kw,
        load_kw,
        description="feeder power balance",
        labels=([f"scenario {s}" for s in range(n_s)], list(feeder_names), m.tlabels(n_t)),
    )
    add_injections_to_rows(m, fam, injections, n_s)
    return fam


def add_injections_to_rows(m: LinearModel, fam: RowFamily, injections: Sequence[Injection], n_s: int) -> None:
    """Add ``sign * x[a,t]`` of every injection to rows ``(s, feeder[a], t)`` of ``fam`` (shape S x F x T)."""
    _, n_f, n_t = fam.shape
    for inj in injections:
        n_a = inj.block.shape[0]
        s = np.arange(n_s)[:, None, None]
        rows = (s * n_f + inj.feeder[None, :, None]) * n_t + np.arange(n_t)[None, None, :]
        cols = np.broadcast_to(inj.block.idx[None], (n_s, n_a, n_t))
        m.extend_rows(fam, rows, cols, inj.sign)


def add_energy_cost(
    m: LinearModel,
    g: GridVars,
    price_per_kwh: np.ndarray,
    export_price_per_kwh: float,
    w: np.ndarray,
    dt_h: float,
) -> None:
    """Energy cost ``sum w[s] * (price[t] * imp - export_price * exp) * dt`` [currency]."""
    m.add_cost(
        "energy", g.imp.idx, w[:, None, None] * price_per_kwh[None, None, :] * dt_h * np.ones(g.imp.shape)
    )
    if g.exp is not None:
        m.add_cost(
            "energy", g.exp.idx, -w[:, None, None] * export_price_per_kwh * dt_h * np.ones(g.exp.shape)
        )


def add_peak_charge(
    m: LinearModel, g: GridVars, day_of_t: np.ndarray, demand_charge_per_kw: float, w: np.ndarray
) -> None:
    """Demand charge on the highest import of each period ``d`` (day or horizon).

    ``imp[s,f,t] <= peak[s,f,d(t)]`` [kW]; cost ``sum w[s] * demand_charge * peak[s,f,d]`` [currency].
    """
    if demand_charge_per_kw <= 0:
        return
    n_s, n_f, n_t = g.imp.shape
    n_d = int(day_of_t.max()) + 1
    g.peak = m.add_var("peak_import_kw", (n_s, n_f, n_d), 0.0, np.inf, description="peak import")
    m.add_rows(
        "peak_import",
        [(1.0, g.imp.idx), (-1.0, g.peak.idx[:, :, day_of_t])],
        -np.inf,
        0.0,
        description="import below the billed peak",
    )
    m.add_cost("peak", g.peak.idx, w[:, None, None] * demand_charge_per_kw * np.ones(g.peak.shape))


def add_emissions_cost(
    m: LinearModel,
    g: GridVars,
    carbon_kg_per_kwh: np.ndarray,
    carbon_price_per_kg: float,
    w: np.ndarray,
    dt_h: float,
) -> None:
    """Emissions ``sum w[s] * carbon_price * carbon[t] * imp[s,f,t] * dt`` [currency]."""
    if carbon_price_per_kg <= 0:
        return
    coef = w[:, None, None] * carbon_price_per_kg * carbon_kg_per_kwh[None, None, :] * dt_h
    m.add_cost("emissions", g.imp.idx, coef * np.ones(g.imp.shape))
