"""Steps 3-5 plumbing of the day-ahead job: feeder work items, output files, MLflow logging.

Output files (all in the staging directory, published together):

``forecast.nc``
    ``load_forecast`` ``(time, series, quantile)`` [kW] of the model's series (zones + system),
    ``feeder_forecast`` ``(time, feeder, quantile)`` [kW]; attrs ``model``, ``substituted``.
``schedules.csv``
    ``feeder, asset, time, p_kw, soc_kwh`` (discharge > 0), sorted, 4 decimals.
``network_health.csv``
    See :mod:`gridai.grid.health`.
``report.html``
    See :mod:`gridai.pipelines.dayahead.report`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.data.recent import robust_peak
from gridai.grid.health import health_frame
from gridai.outputs import OutputDir
from gridai.pipelines.dayahead.config import DayAheadConfig, PriceConfig
from gridai.pipelines.dayahead.feeder_task import FeederOutcome, FeederWork
from gridai.pipelines.dayahead.feeders import (
    FeederSpec,
    feeder_demand,
    nominal_load_kw,
    synthetic_feeders,
)
from gridai.pipelines.dayahead.forecast import Inputs
from gridai.pipelines.dayahead.manifest import FallbackKind, RunManifest
from gridai.pipelines.dayahead.readiness import readiness_frame, readiness_summary
from gridai.pipelines.dayahead.report import render_report
from gridai.pipelines.dayahead.report_inputs import report_data

logger = logging.getLogger(__name__)

SCHEDULE_COLUMNS = ["feeder", "asset", "time", "p_kw", "soc_kwh"]


def all_feeders(cfg: DayAheadConfig, series: list[str]) -> list[FeederSpec]:
    """The configured feeders plus the synthetic ones."""
    feeders = list(cfg.feeders)
    if cfg.synthetic_feeders is not None:
        from gridai.pipelines.dayahead.feeder_task import network_copy

        nominal = {n: nominal_load_kw(network_copy(n)) for n in cfg.synthetic_feeders.networks}
        zones = [s for s in series if s != "system"]
        feeders += synthetic_feeders(cfg.synthetic_feeders, zones, nominal)
    return feeders


def prices(index: pd.DatetimeIndex, price: PriceConfig, tz: str) -> pd.Series:
    """Time-of-use energy price per interval [$/kWh] (peak window in local hours)."""
    local = index.tz_localize("UTC").tz_convert(tz) if tz and tz != "UTC" else index
    hour = np.asarray(local.hour)
    peak = (hour >= price.peak_start_hour) & (hour < price.peak_end_hour)
    return pd.Series(
        np.where(peak, price.peak_per_kwh, price.offpeak_per_kwh), index=index, name="price_per_kwh"
    )


def series_frame(fc: xr.Dataset, name: str) -> pd.DataFrame:
    """One series' quantile forecast: index time, columns quantile levels [kW]."""
    da = fc["load_forecast"].sel(series=name).transpose("time", "quantile")
    return pd.DataFrame(
        da.values,
        index=pd.DatetimeIndex(fc["time"].values),
        columns=[float(q) for q in fc["quantile"].values],
    )


def _nominal(network: str, cache: dict[str, float]) -> float:
    if network not in cache:
        from gridai.pipelines.dayahead.feeder_task import network_copy

        cache[network] = nominal_load_kw(network_copy(network))
    return cache[network]


def feeder_works(
    cfg: DayAheadConfig, day: pd.Timestamp, inputs: Inputs, fc: xr.Dataset, manifest: RunManifest
) -> tuple[dict[str, FeederWork], list[str]]:
    """Work item per feeder, and the feeders left out because their series has no forecast."""
    series = [str(s) for s in fc["series"].values]
    hist = inputs.load.sel(time=inputs.load["time"] < np.datetime64(day))
    # feeder scaling reference: robust to spikes (one hour x100 must not shrink the feeder)
    peaks = pd.Series(
        {str(s): robust_peak(hist["load"].sel(series=s).values) for s in hist["series"].values}, dtype=float
    )
    peaks["system"] = robust_peak(hist["load"].sum("series").values)
    tz = str(inputs.load.attrs.get("source_tz", "UTC"))
    works: dict[str, FeederWork] = {}
    left_out: list[str] = []
    cache: dict[str, float] = {}
    for spec in all_feeders(cfg, series):
        if spec.series not in series:
            from gridai.exceptions import GridAIConfigError

            raise GridAIConfigError(
                f"feeder {spec.name}: series {spec.series!r} is not forecast; have {series}"
            )
        sf = series_frame(fc, spec.series)
        if not np.isfinite(sf.to_numpy()).all():
            manifest.add_fallback(
                "feeders", FallbackKind.NO_DATA, f"series {spec.series} has no forecast", feeder=spec.name
            )
            left_out.append(spec.name)
            continue
        nominal = _nominal(spec.network, cache)
        reference = float(peaks.get(spec.series, np.nan))
        demand = feeder_demand(sf, reference, spec, nominal)
        works[spec.name] = FeederWork(
            spec=spec,
            demand_kw=demand,
            price_per_kwh=prices(pd.DatetimeIndex(sf.index), cfg.dispatch.price, tz),
            demand_charge_per_kw=cfg.dispatch.price.demand_charge_per_kw,
            reference_kw=reference,
            peak_kw=spec.peak_kw if spec.peak_kw is not None else spec.peak_fraction * nominal,
        )
    return works, left_out


def _feeder_dataset(works: dict[str, FeederWork], fc: xr.Dataset) -> xr.DataArray:
    names = sorted(works)
    q = [float(v) for v in fc["quantile"].values]
    arr = (
        np.stack([works[n].demand_kw[q].to_numpy() for n in names], axis=1)
        if names
        else np.zeros((fc.sizes["time"], 0, len(q)))
    )
    return xr.DataArray(
        arr,
        dims=("time", "feeder", "quantile"),
        coords={
            "time": fc["time"].values,
            "feeder": np.array(names, dtype=object),
            "quantile": fc["quantile"].values,
        },
        attrs={"units": "kW"},
    )


def write_outputs(
    cfg: DayAheadConfig,
    day: pd.Timestamp,
    out: OutputDir,
    inputs: Inputs,
    fc: xr.Dataset,
    works: dict[str, FeederWork],
    outcomes: dict[str, FeederOutcome],
    manifest: RunManifest,
    hindcast: Callable[[pd.Timestamp], xr.Dataset] | None = None,
) -> None:
    """Write forecast.nc, schedules.csv, network_health.csv and report.html into staging.

    ``hindcast`` forecasts another day with the forecaster used for D (the report's D-1 chart when
    ``<out>/<D-1>/forecast.nc`` does not exist).
    """
    from gridai.data.io import write_netcdf

    ds = fc.copy()
    ds = ds.assign_coords(series=ds["series"].astype(str), parent=ds["parent"].astype(str))
    feeders = {n: works[n] for n in sorted(outcomes) if n in works}
    ds["feeder_forecast"] = _feeder_dataset(feeders, fc)
    ds["feeder_forecast"] = ds["feeder_forecast"].assign_coords(
        feeder=ds["feeder_forecast"]["feeder"].astype(str)
    )
    ds.attrs.update(
        substituted=bool(manifest.model.get("substituted")), model_used=str(manifest.model.get("used"))
    )
    write_netcdf(ds, out.path("forecast.nc"))

    frames = [o.schedule for o in outcomes.values() if len(o.schedule)]
    sched = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCHEDULE_COLUMNS)
    sched = sched[SCHEDULE_COLUMNS].sort_values(["feeder", "asset", "time"], kind="mergesort")
    with out.open_text("schedules.csv") as fh:
        sched.to_csv(fh, index=False, float_format="%.4f", date_format="%Y-%m-%dT%H:%M:%S")

    health = health_frame([r for o in outcomes.values() for r in o.health])
    with out.open_text("network_health.csv") as fh:
        health.to_csv(fh, index=False, float_format="%.6f", date_format="%Y-%m-%dT%H:%M:%S")

    readiness = readiness_frame([r for o in outcomes.values() for r in o.readiness])
    if cfg.readiness.enabled:
        with out.open_text("restoration_readiness.csv") as fh:
            readiness.to_csv(fh, index=False, float_format="%.4f", date_format="%Y-%m-%dT%H:%M:%S")

    cache: dict[str, float] = {}
    nominal = {w.spec.network: _nominal(w.spec.network, cache) for w in feeders.values()}
    data = report_data(cfg, day, inputs, fc, feeders, sched, health, outcomes, manifest,
                       out_root=out.root, hindcast=hindcast, nominal_kw=nominal)  # fmt: skip
    data.readiness_summary = readiness_summary(readiness)
    with out.open_text("report.html") as fh:
        fh.write(render_report(data, cfg.health.v_min_pu, cfg.health.loading_max_pct))


def failure_record(out: OutputDir) -> Path:
    """Where a failed run of D is recorded: ``<out>/D.run.failed.json``, beside ``<out>/D``, never in it."""
    return out.root / f"{out.name}.run.failed.json"


def write_failure(out: OutputDir, manifest: RunManifest) -> Path | None:
    """Record a failed run beside the outputs: published ``<out>/D`` (if any) is left untouched,
    and no ``<out>/D`` is created, so a failed run never looks as if D had run."""
    try:
        path = failure_record(out)
        manifest.write(path)
        return path
    except OSError as err:
        logger.error("could not record the failed run in %s: %s", out.root, err)
        return None


def clear_failure(out: OutputDir) -> None:
    """Remove the failure record of an earlier run of D once D has been published."""
    try:
        failure_record(out).unlink(missing_ok=True)
    except OSError as err:
        logger.warning("could not remove %s: %s", failure_record(out), err)


def log_to_mlflow(store: Any, manifest: RunManifest, out_dir: Path) -> None:
    """Log the run (params, metrics, output files) as the one active MLflow run of its day.

    Earlier runs of the same day are deleted after the new one is logged, so a rerun replaces
    rather than duplicates. Failures are recorded in ``manifest.tracking``, never raised.
    """
    from gridai.exceptions import GridAIError

    key = f"day-ahead:{manifest.date}"
    try:
        client = store.client
        exp = store.experiment_id()
        old = client.search_runs([exp], filter_string=f"tags.`gridai.run_key` = '{key}'")
        with store.run(
            f"day-ahead {manifest.date}", tags={"gridai.run_key": key, "gridai.job": "day-ahead"}
        ) as rid:
            store.log_params(
                rid,
                {
                    "date": manifest.date,
                    "model": manifest.model.get("used"),
                    "substituted": manifest.model.get("substituted"),
                    "feeders": len(manifest.feeders),
                },
            )
            metrics = {
                "fallbacks": float(len(manifest.fallbacks)),
                "exit_code": float(manifest.exit_code or 0),
            }
            costs = [f.get("costs", {}) for f in manifest.feeders.values()]
            metrics["cost_total"] = float(sum(c.get("total", 0.0) for c in costs))
            metrics["saving_total"] = float(sum(c.get("saving", 0.0) for c in costs))
            for name, rec in manifest.steps.items():
                if isinstance(rec, dict) and "seconds" in rec:
                    metrics[f"seconds_{name}"] = float(rec["seconds"])
            store.log_metrics(rid, metrics)
            store.log_artifacts(rid, out_dir, "day-ahead")
        for r in old:
            client.delete_run(r.info.run_id)
        manifest.tracking = {
            "status": "logged",
            "run_id": rid,
            "uri": store.uri,
            "replaced": [r.info.run_id for r in old],
        }
    except GridAIError as err:
        manifest.tracking = {"status": "unreachable", "error": str(err), "uri": getattr(store, "uri", None)}
        logger.warning("run not logged to MLflow: %s", err)
    except Exception as err:  # noqa: BLE001 - tracking never loses the published outputs
        manifest.tracking = {
            "status": "error",
            "error": f"{type(err).__name__}: {err}",
            "uri": getattr(store, "uri", None),
        }
        logger.warning("run not logged to MLflow: %s", err)
