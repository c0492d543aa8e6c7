"""What the day-ahead report is built from: :func:`report_data` gathers it from the job's results.

Besides the forecasts, schedules and health it collects:

* the **time zone** the report shows (the data's: ``source_tz`` of the load as read, i.e. the job
  config's ``data.timezone`` for wide CSVs; GEFCom2012 is read as UTC);
* the **tariff** per interval of D, behind the batteries' charging;
* **yesterday's forecast** (D-1) against yesterday's actual: the forecast published by the run of
  D-1 (``<out>/<D-1>/forecast.nc``) when there is one, otherwise D-1 forecast now by the forecaster
  used for D at D-1's issue time (the issue-time protocol keeps D-1's later load out; the weather is
  the observed one, and the model may have been trained on D-1, so it can flatter the model). The
  chart title says which;
* each feeder's **load scaling** and its **batteries as resolved** (sizes, bus), with every value
  the config left to a default named as such.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.pipelines.dayahead.report import PreviousDay, ReportData

logger = logging.getLogger(__name__)


def report_timezone(load: xr.Dataset, default: str = "UTC") -> str:
    """The zone the report shows: the data's (``source_tz``), else ``default``."""
    return str(load.attrs.get("source_tz") or default)


def system_frame(ds: xr.Dataset) -> pd.DataFrame:
    """The ``system`` series of a forecast dataset: index time, columns quantile levels [kW]."""
    da = ds["load_forecast"].sel(series="system").transpose("time", "quantile")
    return pd.DataFrame(
        da.values,
        index=pd.DatetimeIndex(ds["time"].values),
        columns=[float(q) for q in ds["quantile"].values],
    )


def previous_day(
    out_root: Path | None,
    day: pd.Timestamp,
    actual: pd.Series | None,
    hindcast: Callable[[pd.Timestamp], xr.Dataset] | None,
    model: str,
) -> PreviousDay:
    """Yesterday's system forecast and actual, saying which forecast it is (never raises)."""
    prev = day - pd.Timedelta(days=1)
    d1 = prev.strftime("%Y-%m-%d")
    end = day
    act = actual[(actual.index >= prev) & (actual.index < end)] if actual is not None else None
    published = out_root / d1 / "forecast.nc" if out_root is not None else None
    if published is not None and published.is_file():
        from gridai.data.io import read_netcdf

        try:
            ds = read_netcdf(published)
            used = str(ds.attrs.get("model_used", "?"))
            sub = (
                " (a substituted baseline)" if str(ds.attrs.get("substituted", "")).lower() == "true" else ""
            )
            return PreviousDay(
                d1, system_frame(ds), act, f"forecast published by the run of {d1}, {used}{sub}"
            )
        except Exception as err:  # noqa: BLE001 - the D-1 chart is informational: say why it is missing
            logger.warning("could not read %s: %s", published, err)
    if hindcast is None:
        return PreviousDay(d1, None, act, f"no forecast of {d1} was published and none could be made")
    try:
        ds = hindcast(prev)
        return PreviousDay(
            d1,
            system_frame(ds),
            act,
            f"forecast made now by {model} at {d1}'s issue time (none was published in this output folder)",
            note=f"Weather as observed, not as forecast then; the model may have been trained on {d1}, "
            "which flatters it.",
        )
    except Exception as err:  # noqa: BLE001
        logger.warning("could not forecast %s for the report: %s", d1, err)
        return PreviousDay(
            d1, None, act, f"no forecast of {d1} was published and forecasting it failed: {err}"
        )


def feeder_setup(works: Mapping[str, Any], nominal_kw: Mapping[str, float]) -> pd.DataFrame:
    """Per feeder: network, series, and how its load was scaled (peak_kw given or defaulted)."""
    rows = []
    for name, w in sorted(works.items()):
        spec = w.spec
        given = spec.peak_kw is not None
        frac = getattr(spec, "peak_fraction", None)
        nom = float(nominal_kw.get(spec.network, float("nan")))
        rows.append({
            "feeder": name, "network": spec.network, "series": spec.series,
            "reference_kw": float(w.reference_kw), "peak_kw": float(w.peak_kw),
            "peak_kw from": "config peak_kw" if given else f"peak_fraction {frac:g} x nominal {nom:,.0f} kW"
            + (" (config)" if "peak_fraction" in spec.model_fields_set else " (default)"),
            "scale": f"{w.peak_kw / w.reference_kw:.4g}" if w.reference_kw else "",
            "noise": float(getattr(spec, "noise", 0.0)),
        })  # fmt: skip
    return pd.DataFrame(rows)


_SIZE_KEYS = (
    "bus",
    "power_kw",
    "power_frac_of_peak_load",
    "power_frac_of_mean_load",
    "energy_kwh",
    "duration_h",
)


def battery_table(works: Mapping[str, Any], outcomes: Mapping[str, Any]) -> pd.DataFrame:
    """Per battery: the resolved bus, power and energy, and what the config gave for them."""
    rows = []
    for name in sorted(outcomes):
        w = works.get(name)
        if w is None:
            continue
        spec = w.spec
        listed = "batteries" in spec.model_fields_set
        configured = {b.name: b for b in spec.batteries}
        for b in getattr(outcomes[name], "batteries", []) or []:
            cfg = configured.get(b.name)
            given = cfg.model_dump(exclude_none=True) if cfg is not None else {}
            set_keys = cfg.model_fields_set if cfg is not None and listed else set()
            defaults = [] if listed else ["battery added: the feeder lists none"]
            if listed:
                defaults += [f"{k}={given[k]}" for k in _SIZE_KEYS if k in given and k not in set_keys]
            rows.append({
                "feeder": name, "asset": b.name, "bus": _plain(getattr(b, "bus", "")),
                "power_kw": float(getattr(b, "power_kw", np.nan) or np.nan),
                "energy_kwh": float(getattr(b, "energy_kwh", np.nan) or np.nan),
                "sized by": ", ".join(f"{k}={given[k]}" for k in _SIZE_KEYS if k in given),
                "defaults": "; ".join(defaults),
            })  # fmt: skip
    return pd.DataFrame(rows)


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def report_data(
    cfg: Any,
    day: pd.Timestamp,
    inputs: Any,
    fc: xr.Dataset,
    works: Mapping[str, Any],
    sched: pd.DataFrame,
    health: pd.DataFrame,
    outcomes: Mapping[str, Any],
    manifest: Any,
    *,
    out_root: Path | None = None,
    hindcast: Callable[[pd.Timestamp], xr.Dataset] | None = None,
    nominal_kw: Mapping[str, float] | None = None,
) -> ReportData:
    """The report's inputs from the job's results (``cfg`` a :class:`DayAheadConfig`, ``works`` and
    ``outcomes`` the feeders' :class:`FeederWork` / :class:`FeederOutcome` by name)."""
    from gridai.grid.health import health_summary
    from gridai.pipelines.dayahead.publish import series_frame

    start = day - pd.Timedelta(days=max(cfg.report.actual_days, 1))
    end = day + pd.Timedelta(days=1)
    load = inputs.load.sel(time=slice(np.datetime64(start), np.datetime64(end - pd.Timedelta(seconds=1))))
    frame = pd.DataFrame(
        load["load"].values,
        index=pd.DatetimeIndex(load["time"].values),
        columns=[str(s) for s in load["series"].values],
    )
    system_actual = pd.Series(frame.to_numpy().sum(axis=1), index=frame.index)
    shown = day - pd.Timedelta(days=cfg.report.actual_days)
    actuals: dict[str, pd.Series] = {"system": system_actual[system_actual.index >= shown]}
    forecasts: dict[str, pd.DataFrame] = {"system": series_frame(fc, "system")}
    for name, w in works.items():
        forecasts[name] = w.demand_kw
        if w.spec.series in frame and w.reference_kw > 0:
            s = pd.Series(frame[w.spec.series].to_numpy() / w.reference_kw * w.peak_kw, index=frame.index)
            actuals[name] = s[s.index >= shown]
    costs = pd.DataFrame(
        [
            {"feeder": n, "status": o.status, "fallback": o.fallback or "", **o.costs}
            for n, o in sorted(outcomes.items())
        ]
    )
    first = next(iter(works.values()), None)
    model = str(manifest.model.get("used", "the model"))
    return ReportData(
        date=manifest.date,
        title=cfg.report.title,
        forecasts=forecasts,
        actuals=actuals,
        schedules=sched,
        health=health,
        health_summary=health_summary(health),
        costs=costs,
        manifest=manifest.to_dict(),
        max_feeder_charts=cfg.report.max_feeder_charts,
        timezone=report_timezone(inputs.load, cfg.data.timezone),
        prices=first.price_per_kwh if first is not None else pd.Series(dtype=float),
        previous=previous_day(out_root, day, system_actual, hindcast, model),
        feeder_setup=feeder_setup(works, nominal_kw or {}),
        batteries=battery_table(works, outcomes),
        v_min_pu=cfg.health.v_min_pu,
        loading_max_pct=cfg.health.loading_max_pct,
    )
