"""CLI command ``gridai backtest``: a day-ahead backtest of a forecaster on the user's CSVs."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from gridai.cli.common import cli_errors
from gridai.cli.data import (
    DATE_FORMAT_OPTION,
    DAYFIRST_OPTION,
    INTERVAL_OPTION,
    TEMPERATURE_UNITS_OPTION,
    TZ_OPTION,
    UNITS_OPTION,
    reader_options,
)

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
        tz: str = TZ_OPTION,
        interval: str = INTERVAL_OPTION,
        units: str = UNITS_OPTION,
        temperature_units: str = TEMPERATURE_UNITS_OPTION,
        dayfirst: bool | None = DAYFIRST_OPTION,
        date_format: str | None = DATE_FORMAT_OPTION,
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
        opts = reader_options(
            tz=tz,
            interval=interval,
            units=units,
            temperature_units=temperature_units,
            dayfirst=dayfirst,
            date_format=date_format,
        )
        if updates:
            cfg = ForecastConfig.model_validate({**cfg.model_dump(), **updates})
        load_ds = read_wide_csv(load, kind="load", opts=opts)
        weather_ds = read_wide_csv(weather, kind="weather", opts=opts)
        wf = None
        if weather_forecast is not None:
            wf = read_weather_forecast_wide(weather_forecast, opts=opts)
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
