"""Map one feeder of the day-ahead job onto the dispatch engine (:mod:`gridai.dispatch.api`).

The job's feeder (network, batteries, demand forecast in kW) becomes a one-feeder
:class:`~gridai.dispatch.config.DispatchConfig`; the network's nominal bus loads are scaled
by ``peak_loading * forecast(t) / max(forecast)`` with ``peak_loading`` = forecast peak /
nominal load, i.e. the same mapping the health power flows use (demand(t) / nominal).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.forecast.quantiles import MEDIAN, quantile_column
from gridai.pipelines.dayahead.feeders import nominal_load_kw
from gridai.pipelines.dayahead.manifest import FallbackKind

if TYPE_CHECKING:
    from gridai.dispatch.config import BatteryConfig, DispatchConfig
    from gridai.pipelines.dayahead.config import JobDispatchConfig
    from gridai.pipelines.dayahead.feeder_task import FeederOutcome, FeederWork

logger = logging.getLogger(__name__)


def forecast_dataset(name: str, demand_kw: pd.DataFrame) -> xr.Dataset:
    """The feeder's demand forecast in the forecast output format (one series)."""
    q = [float(c) for c in demand_kw.columns]
    arr = demand_kw.to_numpy(dtype=float)[:, None, :]
    ds = xr.Dataset(
        {
            "load_forecast": (("time", "series", "quantile"), arr),
            "load_mean": (
                ("time", "series"),
                quantile_column(demand_kw, MEDIAN).to_numpy(dtype=float)[:, None],
            ),
        },
        coords={
            "time": pd.DatetimeIndex(demand_kw.index).values,
            "series": np.array([name], dtype=object),
            "quantile": np.array(q),
        },
        attrs={"units": "kW", "model": "feeder-scaled"},
    )
    return ds.assign_coords(parent=("series", np.array(["system"], dtype=object)))


def build_config(
    work: FeederWork, batteries: list[BatteryConfig], net: Any, cfg: JobDispatchConfig
) -> DispatchConfig:
    """A one-feeder ``DispatchConfig`` for ``work``; ``batteries`` go in as they are (resolved by
    :func:`~gridai.pipelines.dayahead.feeder_task.resolve_batteries`, so that the schedule, the idle
    fallback and the readiness islands all use the same kW and kWh)."""
    from gridai.dispatch.config import DispatchConfig, FeederConfig, NetworkConfig, TariffConfig
    from gridai.optim.solve import SolveOptions

    spec = work.spec
    med = quantile_column(work.demand_kw, MEDIAN)
    nominal = nominal_load_kw(net)
    network = None
    if cfg.network_check:
        network = NetworkConfig(
            network=spec.network,
            peak_loading=float(med.max()) / nominal if nominal > 0 else 1.0,
            v_min_pu=cfg.v_min_pu,
            ac_check_intervals=cfg.ac_check_intervals,
        )
    price = cfg.price
    return DispatchConfig(
        feeders=[FeederConfig(name=spec.name, series=spec.name, network=network, batteries=batteries)],
        tariff=TariffConfig(
            base_price_per_kwh=price.offpeak_per_kwh,
            peak_price_per_kwh=price.peak_per_kwh,
            peak_start_h=float(price.peak_start_hour),
            peak_end_h=float(price.peak_end_hour),
            demand_charge_per_kw=price.demand_charge_per_kw,
        ),
        mode=cfg.mode,
        solve=SolveOptions(time_limit_s=cfg.time_limit_s, mip_gap=cfg.mip_gap, threads=1),
    )


def dispatch(
    work: FeederWork, batteries: list[BatteryConfig], net: Any, cfg: JobDispatchConfig, step_h: float
) -> FeederOutcome:
    """Dispatch one feeder; returns a :class:`~gridai.pipelines.dayahead.feeder_task.FeederOutcome`.

    Raises
    ------
    GridAIInfeasibleError
        No feasible plan (the caller publishes the idle schedule, flagged).
    """
    from gridai.dispatch.api import dispatch_feeder
    from gridai.optim.solve import Status
    from gridai.pipelines.dayahead.feeder_task import FeederOutcome

    name = work.spec.name
    dcfg = build_config(work, batteries, net, cfg)
    res = dispatch_feeder(dcfg, forecast_dataset(name, work.demand_kw), feeder=name, net=net, mode=cfg.mode)
    solve = res.solve
    status = solve.status.value if hasattr(solve.status, "value") else str(solve.status)
    schedule = _schedule(name, res.schedule, batteries)
    out = FeederOutcome(
        feeder=name,
        schedule=schedule,
        health=[],
        status=status,
        objective=float(solve.objective) if np.isfinite(solve.objective) else None,
        solve_s=round(float(solve.total_s), 4),
        network_summary=_plain((getattr(res, "network", {}) or {}).get(name, {})),
    )
    if isinstance(getattr(res, "costs", None), dict):
        out.costs = {"planned_total": round(float(res.costs.get("total", float("nan"))), 4)}
    if solve.status == Status.FEASIBLE_TIMEOUT:
        out.fallback = FallbackKind.BEST_FEASIBLE_TIMEOUT
        out.reason = (
            f"solver time limit {cfg.time_limit_s:g} s hit; best feasible plan (gap {solve.mip_gap:.2%})"
        )
    elif not solve.ok:
        out.fallback = FallbackKind.IDLE_SCHEDULE
        out.infeasible = solve.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED)
        out.reason = f"dispatch {status}: " + ("; ".join(solve.explanation) or solve.message)
    return out


def _schedule(feeder: str, sched: pd.DataFrame, batteries: list[BatteryConfig]) -> pd.DataFrame:
    names = {b.name for b in batteries}
    s = sched.reset_index() if "time" not in sched.columns else sched
    s = s[s["asset"].isin(names)]
    return pd.DataFrame(
        {
            "feeder": feeder,
            "asset": s["asset"].astype(str).to_numpy(),
            "time": pd.DatetimeIndex(s["time"]),
            "p_kw": s["p_kw"].to_numpy(dtype=float),
            "soc_kwh": s["soc_kwh"].to_numpy(dtype=float),
        }
    )


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if hasattr(obj, "to_dict") and not isinstance(obj, pd.DataFrame | pd.Series):
        try:
            return _plain(obj.to_dict())
        except Exception:  # noqa: BLE001
            return str(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, int | float | str | bool) or obj is None:
        return obj
    return str(obj)
