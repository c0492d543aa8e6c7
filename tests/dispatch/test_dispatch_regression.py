"""Regression: one storage dispatch on case33bw against its stored result.

The case: case33bw under a smooth daily load (mean 3,000 kW, peak at 17:00, hourly, one day), a
400 kW / 1,200 kWh battery at bus 17 (efficiencies 0.95, 0.2 %/h self-discharge, cyclic), a
time-of-use tariff (0.08, 0.20 from 16:00 to 21:00) with a 0.5 /kW demand charge, LinDistFlow
limits 0.90 + 0.01 .. 1.05 pu and an AC check of the two most loaded intervals. The self-discharge
makes the optimum unique (charging as late and discharging as early as the prices allow), so the
stored schedule, not only the objective, is a fair comparison; the fast (array) and plain (Pyomo)
paths give the same schedule.

Stored in ``tests/fixtures/regression/dispatch_case33bw_storage.{csv,json}``; to regenerate after
an intended change: ``GRIDAI_REGEN=1 .venv/bin/python -m pytest tests/dispatch/test_dispatch_regression.py``
(it rewrites the files and fails; review the diff and commit it with the reason).
"""

from __future__ import annotations

from typing import Any

from gridai.dispatch.api import dispatch_feeder
from gridai.dispatch.testing import config, daily_profile_kw, make_forecast

from support import NetFactory, check_regression

BATTERY = dict(
    name="B1",
    bus=17,
    power_kw=400.0,
    energy_kwh=1200.0,
    eta_charge=0.95,
    eta_discharge=0.95,
    standing_loss_per_h=0.002,
    soc_initial_frac=0.5,
    cyclic=True,
)
NETWORK = dict(network="case33bw", peak_loading=1.0, v_min_pu=0.90, v_margin_pu=0.01, ac_check_intervals=2)
TARIFF = dict(
    base_price_per_kwh=0.08,
    peak_price_per_kwh=0.20,
    peak_start_h=16,
    peak_end_h=21,
    demand_charge_per_kw=0.5,
    carbon_price_per_kg=0.0,
)
SCHEDULE_COLUMNS = ["time", "asset", "p_kw", "soc_kwh", "charge_kw", "discharge_kw"]
NETWORK_KEYS = ["lindistflow_v_min_pu", "v_min_pu", "lindistflow_vs_ac_max_dv_pu", "violations"]


def test_storage_dispatch_on_case33bw_matches_stored_result(case33bw: NetFactory) -> None:
    cfg = config([dict(name="f1", network=NETWORK, batteries=[BATTERY])], tariff=TARIFF)
    forecast = make_forecast(daily_profile_kw(24, mean_kw=3000.0), freq="1h")
    res = dispatch_feeder(cfg, forecast, feeder="f1", net=case33bw())

    schedule = res.schedule[SCHEDULE_COLUMNS].copy()
    schedule["time"] = schedule["time"].dt.strftime("%Y-%m-%dT%H:%M")
    summary: dict[str, Any] = {
        "status": str(res.solve.status.value),
        "objective": float(res.solve.objective),
        "costs": {k: float(v) for k, v in res.costs.items()},
        "network": {k: res.network["f1"][k] for k in NETWORK_KEYS},
    }
    check_regression({"dispatch_case33bw_storage.csv": schedule, "dispatch_case33bw_storage.json": summary})
