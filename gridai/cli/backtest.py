"""CLI command ``gridai backtest``: a day-ahead backtest of a forecaster on the user's CSVs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, cast

import typer

from gridai.cli.common import cli_errors

logger = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    """Register the backtest command on the root app."""

    @app.command("backtest")
    @cli_errors
    def backtest(
        load: Path = typer.Option(
            ..., "--load", help="Wide load CSV: timestamp column + one column per series."
        ),
        weather: Path = typer.Option(
            ..., "--weather", help="Wide weather CSV: timestamp + one column per station [degC]."
        ),
        train_end: str = typer.Option(
            ..., "--train-end", help="First test day (training uses data before it)."
        ),
        test_end: str = typer.Option(..., "--test-end", help="Day after the last test day."),
        out: Path = typer.Option(
            ..., "--out", help="Output directory (metrics.json, forecasts.csv, PNG plots)."
        ),
        weather_forecast: Path | None = typer.Option(
            None,
            "--weather-forecast",
            help="Wide CSV of day-ahead weather forecasts (same columns as --weather).",
        ),
        issue_lead_hours: float | None = typer.Option(
            None, "--issue-lead-hours", help="Hours before local midnight of the target day (default 14)."
        ),
        model: str | None = typer.Option(None, "--model", help="Registered model name (default gridai_nn)."),
        config: Path | None = typer.Option(
            None, "-c", "--config", help="Forecast config YAML (ForecastConfig)."
        ),
        retrain_every_days: int = typer.Option(
            0, "--retrain-every-days", help="Retrain every k days; 0 = once."
        ),
        tz: str = typer.Option("UTC", "--tz", help="Time zone of naive timestamps in the CSVs."),
        interval: str = typer.Option(
            "start", "--interval", help="Timestamps label interval 'start' or 'end'."
        ),
        units: str = typer.Option("kW", "--units", help="Load units in the CSV (W, kW, MW, Wh, kWh, MWh)."),
        temperature_units: str = typer.Option("degC", "--temperature-units", help="degC or degF."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show training progress bars."),
    ) -> None:
        """Backtest a day-ahead forecaster over test days train_end <= D < test_end; writes metrics and plots."""
        from gridai.config import load_config, parse_iso_date
        from gridai.data.readers import read_weather_forecast_wide, read_wide_csv
        from gridai.exceptions import GridAIConfigError
        from gridai.forecast.backtest import run_backtest
        from gridai.forecast.config import ForecastConfig
        from gridai.forecast.registry import MODELS

        train_day = parse_iso_date(train_end, "--train-end")
        test_day = parse_iso_date(test_end, "--test-end")
        if test_day <= train_day:
            raise GridAIConfigError(
                f"--test-end {test_day} must be after --train-end {train_day} (the test days are "
                "train_end <= D < test_end)",
                keys=["test_end"],
            )
        cfg = load_config(ForecastConfig, config) if config is not None else ForecastConfig()
        updates: dict[str, object] = {}
        if model is not None:
            if model not in MODELS:
                raise GridAIConfigError(
                    f"unknown model {model!r} (--model); registered models: {', '.join(sorted(MODELS))}",
                    keys=["model"],
                )
            updates["model"] = model
        if issue_lead_hours is not None:
            updates["issue_lead_hours"] = issue_lead_hours
        if interval not in ("start", "end"):
            raise GridAIConfigError(
                f"--interval must be 'start' or 'end', got {interval!r}", keys=["interval"]
            )
        if temperature_units not in ("degC", "degF"):
            raise GridAIConfigError(
                f"--temperature-units must be degC or degF, got {temperature_units!r}",
                keys=["temperature_units"],
            )
        iv = cast(Literal["start", "end"], interval)
        tu = cast(Literal["degC", "degF"], temperature_units)
        if updates:
            cfg = ForecastConfig.model_validate({**cfg.model_dump(), **updates})
        load_ds = read_wide_csv(load, kind="load", tz=tz, interval=iv, units=units)
        weather_ds = read_wide_csv(
            weather,
            kind="weather",
            tz=tz,
            interval=iv,
            temperature_units=tu,
        )
        wf = None
        if weather_forecast is not None:
            wf = read_weather_forecast_wide(
                weather_forecast,
                tz=tz,
                interval=iv,
                temperature_units=tu,
            )
        result = run_backtest(
            cfg,
            load_ds,
            weather_ds,
            train_end=str(train_day),
            test_end=str(test_day),
            weather_forecast=wf,
            retrain_every_days=retrain_every_days,
            progress=progress,
        )
        result.write(out)
        s = result.metrics["system"]
        typer.echo(
            f"{cfg.model}: system MAPE {s['mape']:.2f} %, accuracy {s['accuracy']:.2f} %, "
            f"pinball {s['pinball']:.4g}, coverage80 {s['coverage80']:.3f} "
            f"(reconciliation {result.metrics['reconciliation']['chosen']}); written to {out}"
        )
