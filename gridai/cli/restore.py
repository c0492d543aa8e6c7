"""CLI: ``gridai restore`` - fault isolation and service restoration on a feeder.

Exit codes: 0 plan verified (optimal); 1 plan verified but found at the time limit (flagged);
2 bad input (unknown network/line/bus/switch, meshed normal state, bad config or forecast);
3 no verified plan (MILP infeasible, or the plan failed verification); 4 internal error.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from gridai.cli.common import cli_errors, emit_json
from gridai.exceptions import ExitCode

logger = logging.getLogger(__name__)


@cli_errors
def restore(
    network: str = typer.Option(
        ..., "--network", "-n", help="case33bw, cigre_mv, mv_oberrhein, a SimBench code or a pandapower JSON."
    ),
    fault_line: list[int] = typer.Option(
        [], "--fault-line", help="Faulted pandapower line index (repeatable)."
    ),
    fault_bus: list[int] = typer.Option([], "--fault-bus", help="Faulted pandapower bus index (repeatable)."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Restoration config (YAML), e.g. configs/restoration/default.yaml."
    ),
    at: str | None = typer.Option(
        None, "--at", help="Restoration time (ISO, UTC unless an offset is given); needs --forecast."
    ),
    forecast: Path | None = typer.Option(
        None, "--forecast", help="Forecast directory (forecast.nc) giving the load at --at."
    ),
    series: str = typer.Option("system", "--series", help="Forecast series scaling the loads."),
    unavailable_switch: list[int] = typer.Option(
        [], "--unavailable-switch", help="Switch id that cannot be operated (repeatable)."
    ),
    time_limit_s: float | None = typer.Option(None, "--time-limit", help="Solver time limit [s]."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output directory: plan.json and plan.png."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON summary on stdout."),
) -> None:
    """Isolate the fault, restore the most priority-weighted load, print/write the verified plan."""
    from gridai.config import load_config, parse_config
    from gridai.exceptions import GridAIConfigError
    from gridai.grid.topology import load_network
    from gridai.outputs import write_text_atomic
    from gridai.restoration import RestorationConfig
    from gridai.restoration import restore as run_restore
    from gridai.restoration.loads import forecast_load_factor, scale_loads
    from gridai.restoration.plot import plot_plan

    cfg = (
        load_config(RestorationConfig, config) if config else parse_config(RestorationConfig, {}, "defaults")
    )
    if unavailable_switch:
        cfg.unavailable_switches = sorted(set(cfg.unavailable_switches) | set(unavailable_switch))
    if time_limit_s is not None:
        cfg.time_limit_s = time_limit_s
    if (at is None) != (forecast is None):
        raise GridAIConfigError("--at and --forecast go together: the load at --at comes from the forecast")
    net = load_network(network)
    factor = None
    if at is not None and forecast is not None:
        factor = forecast_load_factor(forecast, at, series)
        scale_loads(net, factor)
    plan = run_restore(
        net, fault_line, fault_bus, cfg, name=Path(network).stem if network.endswith(".json") else network
    )
    summary = plan.to_dict()
    if factor is not None:
        summary["load_scale"] = {"at": at, "series": series, "factor": round(factor, 5)}
    if out is not None:
        write_text_atomic(out / "plan.json", json.dumps(summary, indent=2))
        plot_plan(plan, out / "plan.png")
    brief = {
        k: summary[k]
        for k in ("restored_kw", "unserved_kw", "switch_sequence", "verification", "status", "solve_s")
    }
    if as_json:
        emit_json({**brief, "ok": summary["ok"], "explanation": summary["explanation"],
                   "time_to_restore_min": summary["time_to_restore_min"], "islands": summary["islands"]})  # fmt: skip
    else:
        typer.echo(f"{plan.status}: restored {plan.restored_kw:.0f} of {plan.interrupted_kw:.0f} kW interrupted, "
                   f"unserved {plan.unserved_kw:.0f} kW, {len(plan.sequence)} operations, "
                   f"{plan.time_to_restore_min:.0f} min, verification {'passed' if plan.ok else 'FAILED'}")  # fmt: skip
        for s in plan.sequence:
            typer.echo(
                f"  {s.step:>2}. {s.action:<5} {s.branch:<10} ({s.switch_type}, {s.phase}) at {s.done_at_min:.1f} min"
            )
        typer.echo(f"  {plan.explanation}")
    if not plan.ok:
        for p in plan.verification.problems:
            logger.error("verification: %s", p)
        raise typer.Exit(int(ExitCode.INFEASIBLE))
    if plan.status != "optimal":
        raise typer.Exit(int(ExitCode.FALLBACK))


def register(app: typer.Typer) -> None:
    """Register the restore commands on the root app."""
    app.command("restore")(restore)
