"""``gridai dispatch``: battery/VPP dispatch of configured feeders on a forecast.

Exit codes: 0 ok; 2 bad config or forecast (nothing written); 3 no feasible dispatch (the
message says why); 4 internal error.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from gridai.cli.common import cli_errors, console, emit_json

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Register the dispatch commands on the root app."""

    @app.command("dispatch")
    @cli_errors
    def dispatch_cmd(
        config: Path = typer.Option(
            ..., "-c", "--config", help="Dispatch config YAML (configs/dispatch/*.yaml)."
        ),
        forecast: Path = typer.Option(
            ..., "--forecast", help="forecast.nc, forecasts.csv or a directory with one."
        ),
        out: Path = typer.Option(..., "--out", help="Output directory (replaced atomically)."),
        mode: str = typer.Option(
            None, "--mode", help="deterministic (median) or scenario; default: the config's."
        ),
        feeder: list[str] = typer.Option(None, "--feeder", help="Only these feeders (repeatable)."),
        plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    ) -> None:
        """Plan batteries, PV, EV fleets and flexible loads per feeder; check the network (LinDistFlow + AC)."""
        from gridai.config import load_config
        from gridai.dispatch.api import dispatch, run_dispatch
        from gridai.dispatch.config import DispatchConfig
        from gridai.dispatch.output import read_forecast, write_results

        cfg = load_config(DispatchConfig, config)
        if feeder:
            for name in feeder:
                cfg.feeder(name)  # unknown feeder -> GridAIConfigError (exit 2)
            cfg = cfg.model_copy(update={"feeders": [cfg.feeder(n) for n in feeder]})
        ds = read_forecast(forecast)
        if mode is not None and mode not in ("deterministic", "scenario"):
            from gridai.exceptions import GridAIConfigError

            raise GridAIConfigError(f"--mode must be deterministic or scenario, got {mode!r}", key="mode")
        if cfg.vpp.target_kw is None:
            results = dispatch(cfg, ds, mode=mode)
        else:
            results = {"vpp": run_dispatch(cfg, ds, [f.name for f in cfg.feeders], mode=mode)}
        write_results(results, out, plots=plots)
        violations = sum(len(n.get("violations", [])) for r in results.values() for n in r.network.values())
        for key, r in results.items():
            console.print(
                f"{key}: {r.solve.status.value}, total cost {r.costs['total']:.2f} "
                f"(solve {r.solve.total_s:.2f} s, {r.solve.path})",
                highlight=False,
            )
        if violations:
            console.print(f"[yellow]warning:[/] {violations} AC limit violation(s): see {out}/summary.json")
        if as_json:
            emit_json({k: r.summary() for k, r in results.items()})
