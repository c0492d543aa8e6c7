"""The per-feeder task of the day-ahead job: dispatch the batteries, then the feeder health.

:func:`run_feeder` is what each Dask task executes. It is a pure function of its inputs
(same inputs -> same outcome, whichever worker runs it, however often), so a task rerun
after a worker died yields the same result under the same key.

Fallbacks, always flagged in the outcome:

* dispatch infeasible or failing -> a **safe idle schedule** (every battery at 0 kW, SoC held
  at its initial value) with ``fallback=FallbackKind.IDLE_SCHEDULE`` and the solver's explanation;
* solver time limit hit with a feasible plan -> that plan, ``FallbackKind.BEST_FEASIBLE_TIMEOUT``;
* time limit hit without a plan -> the idle schedule.
"""

from __future__ import annotations

import copy
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridai.dispatch.config import BatteryConfig
from gridai.exceptions import GridAIError
from gridai.forecast.quantiles import MEDIAN, quantile_column
from gridai.grid.health import HealthConfig, feeder_health
from gridai.pipelines.dayahead.feeders import FeederSpec, nominal_load_kw
from gridai.pipelines.dayahead.manifest import FallbackKind
from gridai.pipelines.dayahead.readiness import ReadinessConfig, feeder_readiness

logger = logging.getLogger(__name__)


@dataclass
class FeederWork:
    """Inputs of one feeder's task (small: the network is loaded on the worker by name)."""

    spec: FeederSpec
    demand_kw: pd.DataFrame
    """Feeder demand forecast [kW]: index time (naive UTC), columns quantile levels."""
    price_per_kwh: pd.Series
    """Energy price per interval [$/kWh], same index."""
    demand_charge_per_kw: float = 0.0
    reference_kw: float = 0.0
    """Peak of the driving series over the history [kW] (for scaling actuals in the report)."""
    peak_kw: float = 0.0
    """The feeder's peak demand [kW] the series is scaled to."""


@dataclass
class FeederOutcome:
    """Result of one feeder's task."""

    feeder: str
    schedule: pd.DataFrame
    health: list[dict[str, Any]]
    status: str
    objective: float | None = None
    costs: dict[str, float] = field(default_factory=dict)
    fallback: FallbackKind | None = None
    reason: str = ""
    infeasible: bool = False
    solve_s: float = 0.0
    seconds: float = 0.0
    worker: str = ""
    network_summary: dict[str, Any] = field(default_factory=dict)
    readiness: list[dict[str, Any]] = field(default_factory=list)
    batteries: list[Any] = field(default_factory=list)
    """The feeder's batteries as resolved and dispatched (sizes in kW/kWh, bus indices; the report)."""


def resolve_batteries(spec: FeederSpec, net: Any, demand_kw: pd.DataFrame) -> list[BatteryConfig]:
    """The feeder's batteries in kW, kWh and pandapower bus indices (:meth:`BatteryConfig.resolve`).

    Relative sizes refer to the feeder's median demand forecast (its mean and peak [kW]; the
    network's nominal load when the forecast is empty); bus ``'farthest'`` is
    :func:`~gridai.grid.topology.farthest_bus`, no bus the feeder head (the ext_grid bus).
    """
    from gridai.grid.topology import farthest_bus, feeder_arrays

    med = quantile_column(demand_kw, MEDIAN)
    nominal = nominal_load_kw(net)
    peak = float(med.max()) if len(med) else nominal
    mean = float(med.mean()) if len(med) else nominal
    far = farthest_bus(feeder_arrays(net)) if any(b.bus == "farthest" for b in spec.batteries) else None
    head = int(net.ext_grid["bus"].iloc[0])
    out = []
    for b in spec.batteries:
        r = b.resolve(mean_load_kw=mean, peak_load_kw=peak, farthest_bus=far)
        out.append(r if isinstance(r.bus, int) else r.model_copy(update={"bus": head}))
    return out


def idle_schedule(feeder: str, batteries: list[BatteryConfig], times: pd.DatetimeIndex) -> pd.DataFrame:
    """Every battery at 0 kW with its SoC held at the initial value (always safe; batteries resolved)."""
    rows = [
        {"feeder": feeder, "asset": b.name, "time": t, "p_kw": 0.0, "soc_kwh": b.soc_initial_kwh}
        for b in batteries
        for t in times
    ]
    return pd.DataFrame(rows, columns=["feeder", "asset", "time", "p_kw", "soc_kwh"])


def settle_costs(work: FeederWork, schedule: pd.DataFrame, step_h: float) -> dict[str, float]:
    """Costs of the median demand net of the batteries [$], and the saving against no battery.

    energy = sum_t price_t * max(net_t, 0) * dt;  peak = demand_charge * max_t net_t;
    net_t = demand_t - sum_b p_b,t (discharge > 0).
    """
    med = quantile_column(work.demand_kw, MEDIAN)
    batt = schedule.groupby("time")["p_kw"].sum().reindex(med.index, fill_value=0.0) if len(schedule) else 0.0
    price = work.price_per_kwh.reindex(med.index).to_numpy(dtype=float)

    def cost(net: np.ndarray) -> tuple[float, float]:
        return float(np.sum(price * np.maximum(net, 0.0) * step_h)), float(
            work.demand_charge_per_kw * net.max()
        )

    e0, p0 = cost(med.to_numpy(dtype=float))
    e1, p1 = cost((med - batt).to_numpy(dtype=float))
    return {
        "energy": round(e1, 4),
        "peak": round(p1, 4),
        "total": round(e1 + p1, 4),
        "without_battery": round(e0 + p0, 4),
        "saving": round(e0 + p0 - e1 - p1, 4),
    }


_NETWORKS: dict[str, Any] = {}


def network_copy(spec: str) -> Any:
    """A private copy of network ``spec``; each worker process builds each network once.

    Building ``case33bw`` takes seconds in pandapower, copying it milliseconds. The cache only
    holds pristine networks; tasks always get a deep copy, so results never depend on which
    task ran before on the worker.
    """
    from gridai.grid.topology import load_network

    if spec not in _NETWORKS:
        _NETWORKS[spec] = load_network(spec)
    return copy.deepcopy(_NETWORKS[spec])


def run_feeder(
    work: FeederWork, dispatch: Any, health: HealthConfig, readiness: ReadinessConfig | None = None
) -> FeederOutcome:
    """Dispatch one feeder, check its health and, when enabled, its restoration readiness (the Dask task).

    Parameters
    ----------
    work:
        The feeder, its demand forecast and prices.
    dispatch:
        :class:`~gridai.pipelines.dayahead.config.JobDispatchConfig`.
    health:
        Power-flow settings.
    readiness:
        N-1 restoration settings (None or disabled: skipped).
    """
    t0 = time.perf_counter()
    spec = work.spec
    net = network_copy(spec.network)
    batteries = resolve_batteries(spec, net, work.demand_kw)
    times = pd.DatetimeIndex(work.demand_kw.index)
    step_h = float((times[1] - times[0]) / pd.Timedelta(hours=1)) if len(times) > 1 else 1.0

    outcome = _dispatch(work, batteries, net, dispatch, step_h)
    if outcome.fallback == FallbackKind.IDLE_SCHEDULE or outcome.schedule.empty:
        outcome.schedule = idle_schedule(spec.name, batteries, times)
    outcome.costs = {**settle_costs(work, outcome.schedule, step_h), **outcome.costs}

    batt = None
    if len(outcome.schedule):
        bus_of = {b.name: b.bus for b in batteries}
        s = outcome.schedule.assign(bus=outcome.schedule["asset"].map(bus_of))
        batt = s.pivot_table(index="time", columns="bus", values="p_kw", aggfunc="sum")
    outcome.health = feeder_health(net, spec.name, work.demand_kw, health, batt)
    if readiness is not None and readiness.enabled:
        outcome.readiness = _readiness(work, readiness, batteries, outcome.schedule)
    outcome.batteries = list(batteries)
    outcome.seconds = round(time.perf_counter() - t0, 3)
    outcome.worker = f"{socket.gethostname()}:{os.getpid()}"
    return outcome


def _readiness(
    work: FeederWork, cfg: ReadinessConfig, batteries: list[BatteryConfig], schedule: pd.DataFrame
) -> list[dict[str, Any]]:
    """N-1 restoration plans on a fresh copy of the network; a crash is flagged in the table."""
    try:
        net = network_copy(work.spec.network)
        return feeder_readiness(net, work.spec.name, work.demand_kw, cfg, batteries, schedule)
    except Exception as err:  # noqa: BLE001 - readiness is advisory: flag it, never sink the feeder
        logger.exception("restoration readiness of %s failed", work.spec.name)
        return [{"feeder": work.spec.name, "status": "error", "verified": False,
                 "problem": f"{type(err).__name__}: {err}"}]  # fmt: skip


def _dispatch(
    work: FeederWork, batteries: list[BatteryConfig], net: Any, cfg: Any, step_h: float
) -> FeederOutcome:
    """Call the dispatch engine; map infeasibility, time-outs and errors onto flagged fallbacks."""
    from gridai.pipelines.dayahead import dispatch_adapter

    name = work.spec.name
    empty = pd.DataFrame(columns=["feeder", "asset", "time", "p_kw", "soc_kwh"])
    try:
        res = dispatch_adapter.dispatch(work, batteries, net, cfg, step_h)
    except GridAIError as err:
        infeasible = err.exit_code == 3
        return FeederOutcome(
            feeder=name,
            schedule=empty,
            health=[],
            status="infeasible" if infeasible else "error",
            fallback=FallbackKind.IDLE_SCHEDULE,
            reason=str(err),
            infeasible=infeasible,
        )
    except Exception as err:  # noqa: BLE001 - one feeder's crash must not sink the run: flag and idle
        logger.exception("dispatch of %s failed", name)
        return FeederOutcome(
            feeder=name,
            schedule=empty,
            health=[],
            status="error",
            fallback=FallbackKind.IDLE_SCHEDULE,
            reason=f"{type(err).__name__}: {err}",
        )
    return res
