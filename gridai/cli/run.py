"""CLI for scheduled jobs: ``gridai run day-ahead``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from gridai.cli.common import cli_errors, console, emit_json

app = typer.Typer(help="Scheduled end-to-end jobs.", no_args_is_help=True)
logger = logging.getLogger(__name__)


@contextlib.contextmanager
def _progress() -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as prog:
        tasks: dict[str, Any] = {}

        def hook(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = prog.add_task(step, total=total)
            prog.update(tasks[step], completed=done, total=total)

        yield hook


@app.command("day-ahead")
@cli_errors
def day_ahead(
    date: str = typer.Option(..., "--date", help="Target day D (YYYY-MM-DD, local day of the data)."),
    config: Path = typer.Option(Path("configs/dayahead.yaml"), "--config", "-c", help="Job config (YAML)."),
    out: Path = typer.Option(
        Path("outputs"), "--out", help="Output root; the run publishes OUT/D atomically."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address (tcp://host:8786); default: a LocalCluster."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="LocalCluster workers (overrides config)."
    ),
    no_dask: bool = typer.Option(
        False, "--no-dask", help="Run per-feeder tasks in this process (no cluster)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON document (status, exit code, outputs, fallbacks) on stdout."
    ),
    weather_forecast: Path | None = typer.Option(
        None,
        "--weather-forecast",
        help="Weather forecasts for D (overrides data.weather_forecast_path): NetCDF (issue_time, time, "
        "station) or a wide CSV with an optional issue_time column. Observed weather is used up to the "
        "issue time, the newest forecast issued at or before it after.",
    ),
) -> None:
    """Forecast -> dispatch -> feeder health -> report for day D, written to OUT/D.

    Exit codes: 0 ok; 1 finished with fallbacks (run.json lists them); 2 bad input/config or
    output not writable; 3 a feeder has no feasible dispatch (with dispatch.idle_on_failure
    false); 4 internal error; 5 the given Dask scheduler is unreachable.
    """
    from gridai.config import load_config
    from gridai.pipelines.dayahead.config import DayAheadConfig
    from gridai.pipelines.dayahead.job import check_feeder_networks, parse_day, run_day_ahead
    from gridai.pipelines.dayahead.weather import check_weather_inputs
    from gridai.pipelines.distributed import dask_client

    cfg = load_config(DayAheadConfig, config)
    if weather_forecast is not None:
        cfg.data.weather_forecast_path = weather_forecast
    day = parse_day(date)
    check_feeder_networks(cfg, config)  # before a champion is trained or any data is read
    check_weather_inputs(cfg, day)  # a forecast file that does not cover D: exit 2 before any training
    if scheduler:
        cfg.dask.scheduler = scheduler
    if workers:
        cfg.dask.n_workers = workers
    client, error = _mlflow_client(cfg)
    if cfg.model.train_if_missing:
        from gridai.pipelines.champion import ensure_champion

        ensure_champion(cfg, client, error)
    dask_ctx = contextlib.nullcontext(None) if no_dask else dask_client(cfg.dask)
    with _sigterm_as_error(), _mlflow_limits(cfg), dask_ctx as dc, _progress() as hook:
        result = run_day_ahead(
            cfg,
            date,
            out,
            dask_client=dc,
            mlflow_client=client,
            mlflow_error=error,
            config_path=config,
            progress=hook,
        )
    m = result.manifest
    if result.out_dir is not None:
        report = result.out_dir / "report.html"
        where = (
            f"report: {report.resolve()}" if report.exists() else f"run record: {result.out_dir.resolve()}"
        )
        console.print(
            f"[bold]{m.status}[/] (exit {int(result.exit_code)}), {len(m.fallbacks)} fallback(s); {where}"
        )
    for fb in m.fallbacks:
        console.print(
            f"  fallback {fb.kind} in {fb.step}{' [' + fb.feeder + ']' if fb.feeder else ''}: {fb.reason}",
            highlight=False,
            markup=False,
        )
    if m.error:
        console.print(f"[bold red]error:[/] {m.error['message']}", highlight=False)
    if as_json:
        emit_json(
            {
                "ok": int(result.exit_code) in (0, 1),
                "exit_code": int(result.exit_code),
                "status": m.status,
                "date": m.date,
                "outputs": str(result.out_dir.resolve()) if result.out_dir is not None else None,
                "fallbacks": [
                    {"step": fb.step, "kind": str(fb.kind), "reason": fb.reason, "feeder": fb.feeder}
                    for fb in m.fallbacks
                ],
                "warnings": list(m.warnings),
                "error": m.error,
            }
        )
    raise typer.Exit(int(result.exit_code))


@contextlib.contextmanager
def _sigterm_as_error() -> Iterator[None]:
    """Turn SIGTERM (Kubernetes, systemd, a cron timeout) into :class:`GridAITerminatedError`, so
    the job records the run as failed (``D.run.failed.json``) instead of vanishing without a trace."""
    import signal

    from gridai.exceptions import GridAITerminatedError

    def handler(signum: int, _frame: Any) -> None:
        raise GridAITerminatedError(f"terminated by signal {signum} (SIGTERM) before the run finished")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _mlflow_client(cfg: Any) -> tuple[Any | None, str | None]:
    """An MLflow client for the tracking store, or ``None`` with the reason it is unusable."""
    from gridai.exceptions import GridAIError

    if not cfg.track_runs and not cfg.model.uri.startswith(("models:/", "runs:/")):
        return None, "tracking disabled"
    try:
        from gridai.tracking.connection import make_client

        return make_client(cfg.tracking), None
    except GridAIError as err:
        logger.warning("tracking store unusable: %s", err)
        return None, str(err)


def _mlflow_limits(cfg: Any) -> Any:
    from gridai.tracking.connection import mlflow_http_limits

    return mlflow_http_limits(cfg.tracking.http_timeout_s, cfg.tracking.http_max_retries)
