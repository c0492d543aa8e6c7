"""Decision quality of day-ahead forecasts: value captured by battery dispatch planned on them.

Set-up (issue #4, "Decision quality")
-------------------------------------
* One battery per GEFCom2012 zone (20 zones, hourly): power ``P = 0.2 x`` the zone's mean
  actual load over the test window [kW], energy ``4 h x P`` [kWh], charge and discharge
  efficiency ``sqrt(0.85)`` each (round trip 0.85), no standing loss, no degradation cost.
* 60 days from 2008-01-01, each planned on its own: SoC starts every day at 50 % and must end
  it at 50 % (cyclic per day), so days are independent and no plan borrows energy from the
  next day.
* Tariff: time-of-use price 0.08 $/kWh, 0.20 $/kWh for intervals starting 13:00..19:00 (GEFCom
  clock, which the data layer labels UTC), and a daily demand charge 0.5 $/kW on the day's
  highest hourly import. Export is not allowed (and would earn nothing).
* Plans, all made with gridai's dispatch (``gridai.dispatch.api.run_dispatch``: config ->
  ``prepare_inputs`` -> ``build_model`` (storage / grid / peak builders) -> HiGHS fast path),
  every zone of a day in one LP (the zones are independent blocks of it):

  - ``perfect``: planned on the actual load (perfect foresight);
  - ``naive``: on the seasonal-naive median (same hour last week);
  - ``<model>_median``: deterministic dispatch on the model's median;
  - ``<model>_scenario``: gridai's scenario dispatch with its default scenarios: 30 load paths
    sampled from the model's quantiles 0.1..0.9 with hour-to-hour dependence (Gaussian copula,
    AR(1) rho 0.9; ``gridai.dispatch.scenarios.copula_paths``), equal weights, a seed per day
    (``decision_value_scenarios.py``); the battery schedule is first-stage (shared), import and
    the daily peak are per scenario, and the plan minimises expected energy + demand cost;
  - ``<model>_scenario_quantile_paths`` (comparison): the same two-stage LP with
    ``scenarios.method = "quantile_paths"`` (each quantile a whole-day load path, midpoint-rule
    weights 0.15, 0.1 x 7, 0.15).

Settlement (:func:`settle`)
---------------------------
The planned battery schedule (net power ``p = discharge - charge`` per hour) is executed as
planned against the actual load ``L``: ``import = max(L - p, 0)``. Where a plan would
discharge more than the actual load (negative import), the surplus is spilled unpaid: export
is not allowed, so the controller curtails the discharge to the load and the energy left in
the battery is not credited (every day restarts at 50 % SoC). Settled cost = ``sum price x
import x 1 h`` + ``0.5 x max(import)`` per zone and day.

Value captured (summed over zones and days)::

    value = sum(cost without battery - settled cost) / sum(cost without battery - perfect cost)

Forecasts (``decision_value_forecasts.py``) are trained on data before 2008-01-01 with the
default ``ForecastConfig`` and issued ``issue_lead_hours`` = 14 h before each day (10:00 on D-1)
with observed temperature (ex-post weather). Reference on this set-up (issue #4): naive
46.6 %, a GBM-with-lags forecast 63.3 %.

Usage::

    python experiments/benchmarks/decision_value.py                 # naive, vanilla, gridai_nn
    python experiments/benchmarks/decision_value.py --models vanilla --days 10

The last line printed is JSON: ``{"naive": .., "gridai_median": .., "gridai_scenario": ..,
"perfect": 100.0}`` (percent), plus the stand-in rows computed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.forecast.quantiles import MEDIAN, quantile_da

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decision_value_forecasts import OUT, forecast_days  # noqa: E402
from decision_value_scenarios import scenario_config  # noqa: E402

logger = logging.getLogger("decision_value")

ETA = float(np.sqrt(0.85))  # charge = discharge efficiency: round trip 0.85
POWER_FRAC = 0.2  # battery power as a fraction of the zone's mean load
DURATION_H = 4.0  # battery energy = 4 h at full power
SOC_START_FRAC = 0.5  # start (and, cyclic, end) each day at 50 % SoC
BASE_PRICE, PEAK_PRICE = 0.08, 0.20  # [$/kWh]
PEAK_START_H, PEAK_END_H = 13.0, 20.0  # on-peak intervals start at 13:00 .. 19:00
DEMAND_CHARGE = 0.5  # [$/kW of the day's peak import]
#: Row label of each model's forecasts in the results (gridai's main model is "gridai").
LABEL = {"gridai_nn": "gridai", "vanilla": "vanilla", "seasonal_naive": "naive"}


# ---- settlement: pure arithmetic on arrays ---------------------------------------------------
@dataclass
class Settlement:
    """Settled costs per zone [$] of one or more days (arrays of shape ``(zone,)``)."""

    energy: np.ndarray
    peak: np.ndarray
    spilled_kwh: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.energy + self.peak


def tou_price(hours: np.ndarray) -> np.ndarray:
    """Time-of-use price [$/kWh] of intervals starting at local ``hours``."""
    on = (hours >= PEAK_START_H) & (hours < PEAK_END_H)
    return np.where(on, PEAK_PRICE, BASE_PRICE)


def settle(
    load_kw: np.ndarray,
    battery_kw: np.ndarray,
    price_per_kwh: np.ndarray,
    *,
    dt_h: float = 1.0,
    demand_charge_per_kw: float = DEMAND_CHARGE,
    day_of_t: np.ndarray | None = None,
) -> Settlement:
    """Execute battery schedules against the actual load and bill them.

    Parameters
    ----------
    load_kw:
        Actual load ``(zone, T)`` [kW].
    battery_kw:
        Planned net battery injection ``(zone, T)`` [kW] (+ = discharge into the feeder).
    price_per_kwh:
        Energy price ``(T,)`` [$/kWh].
    dt_h:
        Interval length [h].
    demand_charge_per_kw:
        Charge on each day's highest import [$/kW].
    day_of_t:
        Day number of each interval (default: all one day).

    Returns
    -------
    Settlement
        ``import = max(load - battery, 0)`` [kW] (a surplus is spilled unpaid; export is not
        allowed); energy ``sum price x import x dt`` and peak ``sum_days charge x max import``.
    """
    net = load_kw - battery_kw
    imp = np.maximum(net, 0.0)
    day = np.zeros(load_kw.shape[-1], dtype=np.int64) if day_of_t is None else np.asarray(day_of_t)
    peak = np.zeros(load_kw.shape[0])
    for d in np.unique(day):
        peak += demand_charge_per_kw * imp[:, day == d].max(axis=1)
    return Settlement(
        energy=(imp * price_per_kwh[None, :] * dt_h).sum(axis=1),
        peak=peak,
        spilled_kwh=np.maximum(-net, 0.0).sum(axis=1) * dt_h,
    )


def value_captured(no_battery: np.ndarray, settled: np.ndarray, perfect: np.ndarray) -> float:
    """``100 x sum(no_battery - settled) / sum(no_battery - perfect)`` [%] (sums over all entries)."""
    gain = float(np.sum(no_battery - perfect))
    if gain <= 0:
        raise ValueError(f"perfect foresight saves nothing ({gain} $): value captured undefined")
    return 100.0 * float(np.sum(no_battery - settled)) / gain


# ---- planning with gridai's dispatch ---------------------------------------------------------
def dispatch_config(zones: list[str], power_kw: np.ndarray) -> Any:
    """The :class:`DispatchConfig` of the benchmark: one battery per zone, ToU + demand charge."""
    from gridai.dispatch.config import DispatchConfig

    feeders = [
        {
            "name": z,
            "allow_export": False,
            "batteries": [
                {
                    "name": f"battery_{z}",
                    "power_kw": float(p),
                    "energy_kwh": float(DURATION_H * p),
                    "eta_charge": ETA,
                    "eta_discharge": ETA,
                    "soc_initial_frac": SOC_START_FRAC,
                    "cyclic": True,
                }
            ],
        }
        for z, p in zip(zones, power_kw, strict=True)
    ]
    return DispatchConfig.model_validate(
        {
            "feeders": feeders,
            "timezone": "UTC",  # GEFCom's clock is labelled UTC by the data layer (no DST)
            "tariff": {
                "base_price_per_kwh": BASE_PRICE,
                "peak_price_per_kwh": PEAK_PRICE,
                "peak_start_h": PEAK_START_H,
                "peak_end_h": PEAK_END_H,
                "demand_charge_per_kw": DEMAND_CHARGE,
                "demand_charge_period": "day",
                "export_price_per_kwh": 0.0,
                "carbon_price_per_kg": 0.0,
            },
        }
    )


def plan_day(cfg: Any, forecast: xr.DataArray, mode: str) -> tuple[np.ndarray, float]:
    """Battery schedules ``(zone, T)`` [kW] planned by gridai's dispatch on one day's forecast.

    ``forecast`` is ``(time, series, quantile)`` [kW]; ``mode`` ``deterministic`` (median) or
    ``scenario`` (the scenarios of ``cfg.scenarios``). Returns the schedules and the planned
    (expected) cost [$].
    """
    from gridai.dispatch.api import run_dispatch

    zones = [f.name for f in cfg.feeders]
    res = run_dispatch(cfg, xr.Dataset({"load_forecast": forecast}), zones, mode=mode)
    sch = res.schedule[res.schedule["kind"] == "battery"]
    p = sch.pivot(index="feeder", columns="time", values="p_kw").reindex(index=zones)
    return p.to_numpy(dtype=float), float(res.costs["total"])


def as_forecast(actual: np.ndarray, times: pd.DatetimeIndex, zones: list[str]) -> xr.DataArray:
    """The actual load ``(time, zone)`` as a one-quantile forecast (perfect foresight)."""
    return xr.DataArray(
        actual[:, :, None],
        dims=("time", "series", "quantile"),
        coords={"time": times.values, "series": zones, "quantile": [0.5]},
    )


def run(
    methods: dict[str, tuple[xr.DataArray, str]],
    actual: xr.DataArray,
    power_kw: np.ndarray,
    days: list[pd.Timestamp],
) -> dict[str, dict[str, Any]]:
    """Plan and settle every method on every day; per-method totals and value captured."""
    zones = [str(z) for z in actual["series"].values]
    cfg = dispatch_config(zones, power_kw)
    n_z, n_d = len(zones), len(days)
    base = np.zeros((n_d, n_z))
    cost: dict[str, np.ndarray] = {m: np.zeros((n_d, n_z)) for m in methods}
    spill: dict[str, np.ndarray] = {m: np.zeros((n_d, n_z)) for m in methods}
    planned: dict[str, float] = dict.fromkeys(methods, 0.0)
    secs: dict[str, float] = dict.fromkeys(methods, 0.0)
    for i, day in enumerate(days):
        times = pd.date_range(day, periods=24, freq="h")
        load = actual.sel(time=times).transpose("series", "time").to_numpy()
        price = tou_price(np.asarray(times.hour, dtype=float))
        base[i] = settle(load, np.zeros_like(load), price).total
        for m, (fc, mode) in methods.items():
            t0 = time.perf_counter()
            da = fc.sel(time=times, series=zones)
            day_cfg, day_mode = scenario_config(cfg, mode, i)
            p, plan_cost = plan_day(day_cfg, da, day_mode)
            secs[m] += time.perf_counter() - t0
            s = settle(load, p, price)
            cost[m][i], spill[m][i] = s.total, s.spilled_kwh
            planned[m] += plan_cost
        if (i + 1) % 10 == 0:
            logger.info("%d/%d days planned and settled", i + 1, n_d)
    pf = cost["perfect"]
    out: dict[str, dict[str, Any]] = {}
    for m in methods:
        out[m] = {
            "value_pct": value_captured(base, cost[m], pf),
            "cost_no_battery": float(base.sum()),
            "settled_cost": float(cost[m].sum()),
            "saving": float((base - cost[m]).sum()),
            "planned_cost": planned[m],
            "spilled_kwh": float(spill[m].sum()),
            "plan_seconds": secs[m],
            "value_pct_by_zone": {
                z: value_captured(base[:, j], cost[m][:, j], pf[:, j]) for j, z in enumerate(zones)
            },
        }
    # sanity: on the actual load the planned and the settled cost are the same thing
    rel = abs(planned["perfect"] - float(pf.sum())) / float(pf.sum())
    if rel > 1e-6:
        raise AssertionError(f"perfect-foresight plan cost {planned['perfect']} != settled {pf.sum()}")
    return out


def mape_pct(fc: xr.DataArray, actual: xr.DataArray) -> float:
    """MAPE [%] of the median over every zone and hour."""
    med = quantile_da(fc, MEDIAN).transpose("time", "series").to_numpy()
    act = actual.sel(time=fc["time"]).transpose("time", "series").to_numpy()
    return float(100 * np.mean(np.abs(med - act) / act))


def main() -> None:
    from gridai.data.gefcom import read_gefcom_load, read_gefcom_temperature

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=["vanilla", "gridai_nn"], help="forecast models")
    ap.add_argument("--start", default="2008-01-01")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--refresh", action="store_true", help="retrain instead of reading cached forecasts")
    ap.add_argument(
        "--config", type=Path, default=None, help="ForecastConfig YAML for the models (default: defaults)"
    )
    ap.add_argument(
        "--no-quantile-paths",
        "--no-copula",  # the old name, from when the sampled paths were the extra row
        dest="no_quantile_paths",
        action="store_true",
        help="skip the comparison rows with comonotone quantile-path scenarios",
    )
    ap.add_argument("--tag", default="", help="suffix of the forecast cache files (e.g. _tiny)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("gridai").setLevel(logging.WARNING)
    t_start = time.perf_counter()

    load, weather = read_gefcom_load(), read_gefcom_temperature()
    days = list(pd.date_range(args.start, periods=args.days, freq="D"))
    actual = load["load"].sel(time=slice(days[0], days[-1] + pd.Timedelta(hours=23)))
    zones = [str(z) for z in actual["series"].values]
    power_kw = POWER_FRAC * actual.mean("time").to_numpy()

    fcs: dict[str, xr.DataArray] = {}
    for model in ["seasonal_naive", *args.models]:
        all_days = [d.date() for d in days]
        own = model != "seasonal_naive"
        fcs[model] = forecast_days(
            model,
            load,
            weather,
            all_days,
            refresh=args.refresh,
            config=args.config if own else None,
            tag=args.tag if own else "",
        )
    times = pd.DatetimeIndex(actual["time"].values)
    methods: dict[str, tuple[xr.DataArray, str]] = {
        "perfect": (
            as_forecast(actual.transpose("time", "series").to_numpy(), times, zones),
            "deterministic",
        ),
        "naive": (fcs["seasonal_naive"], "deterministic"),
    }
    for model in args.models:
        methods[f"{LABEL.get(model, model)}_median"] = (fcs[model], "deterministic")
        methods[f"{LABEL.get(model, model)}_scenario"] = (fcs[model], "scenario")
        if not args.no_quantile_paths:
            methods[f"{LABEL.get(model, model)}_scenario_quantile_paths"] = (fcs[model], "quantile_paths")
    res = run(methods, actual, power_kw, days)

    mape = {m: mape_pct(fc, actual) for m, (fc, _) in methods.items() if m != "perfect"}
    print(f"\nDecision value: {len(zones)} zones x {len(days)} days from {days[0].date()}, battery 20 % of mean "
          f"load, 4 h, round trip 0.85; forecasts issued 14 h ahead with observed temperature")  # fmt: skip
    hdr = f"{'method':<26}{'MAPE %':>8}{'no-battery $':>14}{'settled $':>13}{'saving $':>11}{'planned $':>13}"
    print(hdr + f"{'spilled MWh':>13}{'value %':>9}")
    for m, r in res.items():
        mp = f"{mape[m]:8.2f}" if m in mape else f"{'-':>8}"
        print(f"{m:<26}{mp}{r['cost_no_battery']:14,.0f}{r['settled_cost']:13,.0f}{r['saving']:11,.0f}"
              f"{r['planned_cost']:13,.0f}{r['spilled_kwh'] / 1000:13.1f}{r['value_pct']:9.1f}")  # fmt: skip
    for model in args.models:
        lab = LABEL.get(model, model)
        gap = res[f"{lab}_scenario"]["value_pct"] - res[f"{lab}_median"]["value_pct"]
        print(f"{lab}: scenario dispatch - median dispatch = {gap:+.1f} percentage points")
    print("value % by zone:")
    for m, r in res.items():
        print(f"  {m:<24} " + " ".join(f"{v:5.0f}" for v in r["value_pct_by_zone"].values()))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "decision_value.json").write_text(json.dumps({"mape_pct": mape, "methods": res}, indent=1))
    logger.info("done in %.0f s; details in %s", time.perf_counter() - t_start, OUT / "decision_value.json")
    summary = {m: round(r["value_pct"], 2) for m, r in res.items() if m != "perfect"}
    summary["perfect"] = 100.0
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
