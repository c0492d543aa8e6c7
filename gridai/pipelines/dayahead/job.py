"""The scheduled day-ahead job: data -> forecast -> per-feeder dispatch + health -> outputs.

``run_day_ahead(cfg, day, out_root, ...)`` runs the whole job for day ``D`` and returns its exit
code with the manifest. Runtime services are passed in (the Dask client, the MLflow client);
the CLI builds them from the config. Step by step:

1. **data**: read load and weather, keep the history window, digest the files, quality gates;
2. **forecast**: the champion (``models:/gridai-load@champion`` or a local model directory)
   forecasts system and zones for D; the baseline is substituted (flagged) when it cannot;
3. **feeders**: one Dask task per feeder (keyed by feeder, retry-safe): demand from its series'
   forecast, battery dispatch on the network, AC power flows at the peak intervals;
4. **write**: ``forecast.nc``, ``schedules.csv``, ``network_health.csv``, ``report.html`` and
   ``run.json`` into a staging directory, published atomically as ``<out>/D``;
5. **tracking**: the run is logged to MLflow (one active run per day: a rerun replaces it).

Exit codes (``run.json`` ``exit_code``/``status``): 0 ok; 1 finished with fallbacks (substituted
forecast, idle or time-out schedule, tracking store unreachable); 2 bad input or config (data
files missing/malformed, D not in the data, output directory not writable); 3 a feeder has
no feasible dispatch and ``dispatch.idle_on_failure`` is false; 4 internal error. A failed
run never replaces published outputs and never creates ``<out>/D``: its record goes to
``<out>/D.run.failed.json`` beside them (removed by the next successful run of D).
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gridai.exceptions import ExitCode, GridAIError, GridAIInfeasibleError
from gridai.outputs import OutputDir, OutputNotWritableError
from gridai.pipelines.dayahead import publish
from gridai.pipelines.dayahead.config import DayAheadConfig
from gridai.pipelines.dayahead.feeder_task import FeederOutcome, run_feeder
from gridai.pipelines.dayahead.forecast import forecast_day, load_and_check
from gridai.pipelines.dayahead.manifest import STATUS_BY_CODE, FallbackKind, RunManifest
from gridai.pipelines.distributed import ClusterLostError, map_keyed, run_local

logger = logging.getLogger(__name__)

#: ``progress(step, done, total)`` is called as work advances (the CLI draws rich bars).
ProgressHook = Callable[[str, int, int], None]


@dataclass
class DayAheadResult:
    exit_code: ExitCode
    out_dir: Path | None
    manifest: RunManifest


def parse_day(day: str) -> pd.Timestamp:
    """The target day D from ``--date`` (``YYYY-MM-DD`` only: ``06/10/2008`` is ambiguous)."""
    from gridai.config import parse_iso_date

    return pd.Timestamp(parse_iso_date(day, "--date"))


#: Write errors that are the output's fault, not gridai's: a clear exit 2 instead of a traceback.
OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def _failed(day: str, out: OutputDir, manifest: RunManifest, err: Exception) -> DayAheadResult:
    """Record a failed run beside the outputs: a gridai error with its exit code, anything else as
    an internal error (exit 4, with the traceback in the log)."""
    if isinstance(err, GridAIError):
        logger.error("day-ahead %s failed: %s", day, err)
        code = err.exit_code
    else:
        logger.exception("day-ahead %s: internal error", day)
        code = ExitCode.INTERNAL
    manifest.finish(code, err)
    return DayAheadResult(code, publish.write_failure(out, manifest), manifest)


def check_feeder_networks(cfg: DayAheadConfig, source: str | Path | None = None) -> None:
    """Check, before any data is read or model trained, that every feeder's network loads and
    every battery sits on a bus of it.

    Raises
    ------
    GridAIConfigError
        Names the feeder, the key and what would be right (exit 2, nothing written).
    """
    from gridai.exceptions import GridAIConfigError, GridAIDataError
    from gridai.grid.topology import load_network

    buses: dict[str, set[int]] = {}
    where = f"config {source}: " if source else ""

    def bus_set(feeder: str, spec: str, key: str) -> set[int]:
        if spec not in buses:
            try:
                buses[spec] = {int(b) for b in load_network(spec).bus.index}
            except GridAIDataError as err:
                raise GridAIConfigError(f"{where}feeder {feeder}: {key}: {err.message}", keys=[key]) from None
        return buses[spec]

    for i, spec in enumerate(cfg.feeders):
        known = bus_set(spec.name, spec.network, f"feeders[{i}].network")
        for j, battery in enumerate(spec.batteries):
            if isinstance(battery.bus, int) and battery.bus not in known:
                raise GridAIConfigError(
                    f"{where}feeder {spec.name}: feeders[{i}].batteries[{j}].bus {battery.bus} is not a bus of "
                    f"network {spec.network!r} (buses {min(known)}..{max(known)})",
                    keys=[f"feeders[{i}].batteries[{j}].bus"],
                )
    if cfg.synthetic_feeders is not None:
        for k, network in enumerate(cfg.synthetic_feeders.networks):
            bus_set("synthetic", network, f"synthetic_feeders.networks[{k}]")


def run_day_ahead(
    cfg: DayAheadConfig,
    day: str,
    out_root: str | Path,
    *,
    dask_client: Any | None = None,
    mlflow_client: Any | None = None,
    mlflow_error: str | None = None,
    config_path: str | Path | None = None,
    progress: ProgressHook | None = None,
) -> DayAheadResult:
    """Run the day-ahead job for ``day`` and publish ``<out_root>/<day>``.

    Parameters
    ----------
    dask_client:
        ``distributed.Client`` running the per-feeder tasks; ``None`` runs them in this process.
    mlflow_client:
        ``MlflowClient`` of the tracking store (champion lookup and run logging); ``None`` with
        ``mlflow_error`` saying why it is unusable (the run goes on, flagged).
    config_path:
        The YAML the config came from (digested into ``run.json``).

    Raises
    ------
    OutputNotWritableError
        ``out_root`` cannot be written (nothing else was done; exit code 2).
    """
    ts = parse_day(day)
    check_feeder_networks(cfg, config_path)
    d = ts.strftime("%Y-%m-%d")
    manifest = RunManifest(job="day-ahead", date=d)
    manifest.config = {"digest": _config_digest(cfg), "path": str(config_path) if config_path else None}
    manifest.dask = _dask_info(dask_client)
    out = OutputDir(out_root, d)
    out.open()
    try:
        code = _run(cfg, ts, out, manifest, dask_client, mlflow_client, mlflow_error, config_path, progress)
        publish.clear_failure(out)
        return DayAheadResult(code, out.final, manifest)
    except GridAIError as err:
        return _failed(d, out, manifest, err)
    except OSError as err:
        if err.errno not in OUTPUT_ERRNOS:
            return _failed(d, out, manifest, err)
        return _failed(
            d,
            out,
            manifest,
            OutputNotWritableError(
                f"output {out.root} cannot be written: {err.strerror} ({err.filename or 'staging'}); nothing "
                "was published and the previous outputs are as they were",
                file=str(err.filename or out.root),
            ),
        )
    except Exception as err:
        return _failed(d, out, manifest, err)
    finally:
        out.close()


def _run(
    cfg: DayAheadConfig,
    day: pd.Timestamp,
    out: OutputDir,
    manifest: RunManifest,
    dask_client: Any | None,
    mlflow_client: Any | None,
    mlflow_error: str | None,
    config_path: str | Path | None,
    progress: ProgressHook | None,
) -> ExitCode:
    t_run = time.perf_counter()
    store = None
    if mlflow_client is not None:
        from gridai.tracking.store import ModelStore

        store = ModelStore(mlflow_client, cfg.tracking)
    elif cfg.track_runs or cfg.model.uri.startswith("models:/"):
        manifest.add_fallback(
            "tracking", FallbackKind.TRACKING_UNREACHABLE, mlflow_error or "no MLflow client"
        )
    manifest.tracking = {"status": "pending" if store else "unreachable", "error": mlflow_error}

    with manifest.step("data") as rec:
        inputs = load_and_check(cfg, day, manifest)
        manifest.inputs = {
            "files": inputs.files,
            "findings": [f.to_dict() for f in inputs.findings[:200]],
            "n_findings": len(inputs.findings),
            "gate_failed": inputs.gate_failed,
        }
        if config_path is not None and Path(config_path).is_file():
            from gridai.outputs import sha256_file

            manifest.inputs["config"] = {"path": str(config_path), "sha256": sha256_file(config_path)}
        rec["series"] = int(inputs.load.sizes["series"])
    logger.info(
        "data: %d series, %d findings, gates %s",
        inputs.load.sizes["series"],
        len(inputs.findings),
        "failed" if inputs.gate_failed else "passed",
    )

    with manifest.step("forecast") as rec:
        fco = forecast_day(cfg, day, inputs, manifest, store, mlflow_error)
        manifest.model = fco.model_info
        rec["model"] = fco.model_info.get("used")
    logger.info(
        "forecast: %s%s",
        fco.model_info.get("used"),
        " (substituted)" if fco.model_info["substituted"] else "",
    )

    with manifest.step("feeders") as rec:
        works, nan_feeders = publish.feeder_works(cfg, day, inputs, fco.forecast, manifest)
        total = len(works)

        def done(name: str, _result: Any, _count: list[int] = [0]) -> None:  # noqa: B006 - a counter
            _count[0] += 1
            if progress is not None:
                progress("feeders", _count[0], total)

        common = {"dispatch": cfg.dispatch, "health": cfg.health, "readiness": cfg.readiness}
        if dask_client is not None:
            try:
                outcomes: dict[str, FeederOutcome] = map_keyed(
                    dask_client,
                    run_feeder,
                    works,
                    prefix="feeder",
                    run_token=manifest.run_id,
                    retries=cfg.dask.retries,
                    common=common,
                    on_done=done,
                    deadline_s=cfg.dask.deadline_s,
                )
            except ClusterLostError as lost:  # keep what finished, run the rest here (flagged)
                outcomes = dict(lost.results)
                rest = {k: v for k, v in works.items() if k not in outcomes}
                manifest.add_fallback(
                    "feeders",
                    FallbackKind.DASK_LOCAL,
                    f"{lost.reason}; the {len(rest)} unfinished feeders ran in-process",
                )
                outcomes.update(run_local(run_feeder, rest, common=common, on_done=done))
        else:
            outcomes = run_local(run_feeder, works, common=common, on_done=done)
        rec["feeders"] = len(outcomes)
        rec["workers"] = sorted({o.worker for o in outcomes.values()})
    infeasible = _record_feeders(manifest, outcomes, nan_feeders)
    logger.info(
        "feeders: %d dispatched, %d fallbacks",
        len(outcomes),
        sum(o.fallback is not None for o in outcomes.values()),
    )

    code = _exit_code(cfg, manifest, infeasible)
    manifest.status = STATUS_BY_CODE[code]  # provisional, shown by the report; finish() confirms it
    with manifest.step("write"):
        publish.write_outputs(
            cfg, day, out, inputs, fco.forecast, works, outcomes, manifest, hindcast=fco.hindcast
        )

    manifest.steps["total"] = {"seconds": round(time.perf_counter() - t_run, 3), "status": "ok"}
    manifest.finish(code)
    manifest.outputs = out.digests()
    manifest.write(out.path("run.json"))
    out.publish()
    logger.info("outputs published to %s (exit %d)", out.final, int(code))

    if store is not None and cfg.track_runs:
        with manifest.step("tracking"):
            publish.log_to_mlflow(store, manifest, out.final)
        if manifest.tracking.get("status") != "logged":
            manifest.add_fallback(
                "tracking", FallbackKind.TRACKING_UNREACHABLE, str(manifest.tracking.get("error"))
            )
            code = max(code, ExitCode.FALLBACK)
            manifest.finish(code)
        manifest.write(out.final / "run.json")
    return code


def _record_feeders(
    manifest: RunManifest, outcomes: dict[str, FeederOutcome], nan_feeders: list[str]
) -> list[str]:
    infeasible = []
    for name in sorted(outcomes):
        o = outcomes[name]
        manifest.feeders[name] = {
            "status": o.status,
            "objective": o.objective,
            "fallback": o.fallback,
            "reason": o.reason or None,
            "costs": o.costs,
            "seconds": o.seconds,
            "solve_s": o.solve_s,
            "worker": o.worker,
            "network": o.network_summary,
        }
        if o.fallback is not None:
            manifest.add_fallback("dispatch", o.fallback, o.reason, feeder=name)
        if o.infeasible:
            infeasible.append(name)
    for name in nan_feeders:
        manifest.feeders[name] = {
            "status": "no_data",
            "fallback": FallbackKind.NO_DATA,
            "reason": "the feeder's series has no data: no forecast, no dispatch",
        }
    return infeasible


def _exit_code(cfg: DayAheadConfig, manifest: RunManifest, infeasible: list[str]) -> ExitCode:
    if infeasible and not cfg.dispatch.idle_on_failure:
        manifest.error = {
            "type": GridAIInfeasibleError.__name__,
            "message": f"no feasible dispatch for feeder(s) {', '.join(infeasible)} (published idle schedules)",
        }
        return ExitCode.INFEASIBLE
    return ExitCode.FALLBACK if manifest.fallbacks else ExitCode.OK


def _config_digest(cfg: DayAheadConfig) -> str:
    import hashlib

    return hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()


def _dask_info(client: Any | None) -> dict[str, Any]:
    if client is None:
        return {"mode": "in-process"}
    try:
        info = client.scheduler_info()
        return {"mode": "dask", "scheduler": info.get("address"), "workers": len(info.get("workers", {}))}
    except Exception:  # noqa: BLE001 - informational only
        return {"mode": "dask"}
