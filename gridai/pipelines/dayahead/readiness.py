"""Restoration readiness for the target day: N-1 FLISR plans at the forecast peak.

For each feeder, the network's loads are scaled (one factor, as in :mod:`gridai.grid.health`)
to the forecast demand at the peak interval of day D, at the quantile ``quantile``. Every
in-service line is a candidate fault; the ``max_faults`` that interrupt the most load come first.
Each is planned by :func:`gridai.restoration.restore` (MILP, switching sequence, AC
verification of the final state) and reported as one row of ``restoration_readiness.csv``:

``interrupted_kw``  load that loses supply when the fault is isolated [kW];
``restored_kw``     interrupted load the plan brings back [kW]; ``restored_pct`` its share [%];
``unserved_kw``     load left unserved anywhere after the plan [kW];
``operations``, ``time_to_restore_min``, ``status``, ``verified``, ``solve_s``, and the plan's
plain-words ``explanation`` of what stays unserved and why.

With ``battery_islands``, the feeder's batteries count as grid-forming units
(:mod:`gridai.restoration.islands`): each may carry an island with the energy the day's
schedule leaves in it at the peak interval (``islands`` names those a plan starts).

So the morning report answers "if a line trips at tonight's peak, how much can we restore, and
where are we exposed?".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pydantic import Field

from gridai.config import StrictModel
from gridai.dispatch.config import BatteryConfig
from gridai.exceptions import GridAIError
from gridai.forecast.quantiles import MEDIAN, quantile_column
from gridai.grid.health import scale_total_load
from gridai.restoration.config import RestorationConfig

logger = logging.getLogger(__name__)

READINESS_COLUMNS = [
    "feeder",
    "time",
    "load_kw",
    "fault_line",
    "interrupted_kw",
    "restored_kw",
    "restored_pct",
    "unserved_kw",
    "operations",
    "time_to_restore_min",
    "status",
    "verified",
    "solve_s",
    "islands",
    "problem",
    "explanation",
]


def _default_restoration() -> RestorationConfig:
    # A readiness sweep plans many faults per feeder: a short time limit (a time-out is flagged,
    # never silent) and the AC check on the final state only.
    return RestorationConfig(time_limit_s=5.0, ac_check_steps=False)


class ReadinessConfig(StrictModel):
    """Restoration readiness (N-1 FLISR at the forecast peak) settings."""

    enabled: bool = Field(False, description="Plan restoration for single-line faults at the peak of day D.")
    max_faults: int | None = Field(
        8,
        ge=1,
        description="Faults planned per feeder, those interrupting the most load first; None = every line.",
    )
    quantile: float = Field(
        0.5, gt=0.0, lt=1.0, description="Forecast quantile of the peak-interval load the plans are made for."
    )
    battery_islands: bool = Field(
        False,
        description="Let the feeder's batteries form islands (grid-forming inverters), with the energy their "
        "schedule leaves at the peak interval; one battery per bus.",
    )
    restoration: RestorationConfig = Field(
        default_factory=_default_restoration,
        description="Limits, switches and solver of the restoration MILP.",
    )


def candidate_faults(rn: Any, max_faults: int | None) -> list[tuple[int, float]]:
    """In-service lines with the load their isolation interrupts [kW], largest first (ties: line index)."""
    from gridai.restoration.model import healthy_buses, normally_supplied
    from gridai.restoration.network import locate_fault

    net = rn.net
    supplied = normally_supplied(rn)
    out = []
    for line in net.line.index[net.line["in_service"].astype(bool)]:
        fault = locate_fault(rn, [int(line)])
        lost = supplied & ~healthy_buses(rn, fault)
        out.append((int(line), float(rn.p_load_kw[lost].clip(min=0.0).sum())))
    out = [c for c in out if c[1] > 0.0]
    out.sort(key=lambda c: (-c[1], c[0]))
    return out[:max_faults] if max_faults else out


def add_battery_units(
    net: Any, batteries: Sequence[BatteryConfig], schedule: pd.DataFrame | None, t_peak: pd.Timestamp
) -> dict[int, str]:
    """Add each battery (one per bus, the first listed wins) as a pandapower storage holding the
    energy its schedule leaves at ``t_peak``; {storage index: battery name}.

    ``batteries`` are resolved (pandapower bus, kW, kWh: see
    :func:`gridai.pipelines.dayahead.feeder_task.resolve_batteries`); ``schedule`` has columns
    asset, time, soc_kwh.
    """
    import pandapower as pp

    units: dict[int, str] = {}
    buses: set[int] = set()
    for b in batteries:
        bus, power_kw, energy_kwh = b.bus, b.power_kw, b.energy_kwh
        if not isinstance(bus, int) or power_kw is None or energy_kwh is None:
            raise GridAIError(f"battery {b.name}: bus/power/energy not resolved (resolve_batteries first)")
        if bus in buses or energy_kwh <= 0 or power_kw <= 0:
            continue
        soc = float(b.soc_initial_kwh)
        if schedule is not None and len(schedule):
            at = schedule[(schedule["asset"] == b.name) & (pd.DatetimeIndex(schedule["time"]) == t_peak)]
            if len(at):
                soc = float(at["soc_kwh"].iloc[0])
        k = pp.create_storage(net, bus=bus, p_mw=0.0, max_e_mwh=energy_kwh / 1e3, sn_mva=power_kw / 1e3,
                              soc_percent=100.0 * soc / energy_kwh, min_e_mwh=b.soc_min_kwh / 1e3, name=b.name)  # fmt: skip
        units[int(k)] = str(b.name)
        buses.add(bus)
    return units


def feeder_readiness(
    net: Any,
    feeder: str,
    demand_kw: pd.DataFrame,
    cfg: ReadinessConfig,
    batteries: Sequence[BatteryConfig] = (),
    schedule: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``restoration_readiness.csv`` for one feeder (``net`` is changed in place).

    Parameters
    ----------
    net:
        The feeder's pandapower network (a private copy).
    demand_kw:
        Feeder demand forecast [kW]: index time, columns quantile levels.
    batteries, schedule:
        The feeder's batteries and their schedule (used with ``cfg.battery_islands``).
    """
    from gridai.restoration import restore
    from gridai.restoration.network import prepare_network

    if demand_kw.empty:
        return []
    med = quantile_column(demand_kw, MEDIAN).to_numpy(dtype=float)
    i_peak = int(med.argmax())
    t_peak = pd.Timestamp(demand_kw.index[i_peak])
    load_kw = float(quantile_column(demand_kw, cfg.quantile).to_numpy(dtype=float)[i_peak])
    scale_total_load(net, load_kw)
    head = {"feeder": feeder, "time": t_peak, "load_kw": load_kw}
    rcfg = cfg.restoration
    units: dict[int, str] = {}
    if cfg.battery_islands and batteries:
        units = add_battery_units(net, batteries, schedule, t_peak)
        rcfg = rcfg.model_copy(update={"island_storage": sorted(units)})
    try:
        rn = prepare_network(net, rcfg, feeder)
        faults = candidate_faults(rn, cfg.max_faults)
    except GridAIError as err:  # e.g. a meshed normal state: say so in the table, plan nothing
        return [{**head, "status": "error", "verified": False, "problem": str(err)}]
    rows = []
    for line, _kw in faults:
        plan = restore(rn, [line])
        interrupted = plan.interrupted_kw
        rows.append({
            **head, "fault_line": line, "interrupted_kw": interrupted, "restored_kw": plan.restored_kw,
            "restored_pct": 100.0 * plan.restored_kw / interrupted if interrupted > 0 else 100.0,
            "unserved_kw": plan.unserved_kw, "operations": len(plan.sequence),
            "time_to_restore_min": plan.time_to_restore_min, "status": plan.status, "verified": plan.ok,
            "solve_s": plan.build_s + plan.solve_s, "problem": "; ".join(plan.verification.problems),
            "explanation": plan.explanation, "islands": "+".join(units[k] for k in plan.islands),
        })  # fmt: skip
    return rows


def readiness_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows -> the ``restoration_readiness.csv`` table (fixed columns, by feeder, then fault)."""
    df = pd.DataFrame(list(rows), columns=READINESS_COLUMNS)
    if len(df):
        df = df.sort_values(["feeder", "fault_line"], kind="mergesort", na_position="first").reset_index(
            drop=True
        )
    return df


def readiness_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per feeder (for the report): faults planned, how many restore all they interrupt, the worst
    fault and its restored share, mean share, plans not verified; most exposed feeder first."""
    cols = ["feeder", "faults", "fully_restored", "worst_fault_line", "worst_restored_pct", "worst_unserved_kw",
            "mean_restored_pct", "not_verified", "worst_fault_explained", "problem"]  # fmt: skip
    if df.empty:
        return pd.DataFrame(columns=cols)
    out = []
    for feeder, g in df.groupby("feeder", sort=True):
        planned = g[g["fault_line"].notna()]
        if planned.empty:
            out.append(
                {"feeder": feeder, "faults": 0, "problem": "; ".join(g["problem"].dropna().astype(str))}
            )
            continue
        w = planned.iloc[int(planned["restored_pct"].astype(float).to_numpy().argmin())]
        out.append({
            "feeder": feeder, "faults": len(planned),
            "fully_restored": int((planned["restored_pct"].astype(float) >= 100.0 - 1e-6).sum()),
            "worst_fault_line": int(w["fault_line"]),
            "worst_restored_pct": float(w["restored_pct"]), "worst_unserved_kw": float(w["unserved_kw"]),
            "mean_restored_pct": float(planned["restored_pct"].astype(float).mean()),
            "not_verified": int((~planned["verified"].astype(bool)).sum()), "problem": "",
            "worst_fault_explained": str(w.get("explanation", "") or "")[:240],
        })  # fmt: skip
    res = pd.DataFrame(out, columns=cols)
    return res.sort_values("worst_restored_pct", kind="mergesort", na_position="first").reset_index(drop=True)


__all__ = ["READINESS_COLUMNS", "ReadinessConfig", "feeder_readiness", "readiness_frame", "readiness_summary"]
