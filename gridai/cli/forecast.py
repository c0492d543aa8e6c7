"""CLI: ``gridai train``, ``gridai forecast``, ``gridai promote``, ``gridai models``.

Exit codes: 0 ok; 2 bad input (config, data, date outside the data, a model URI that does
not exist, a corrupted model artifact, a promotion refused); 4 internal error; 5 the
tracking server is unreachable.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer

from gridai.cli.common import cli_errors, emit_json, fail

logger = logging.getLogger(__name__)

CONFIG_HELP = "Training config (YAML): forecast, data, backtest, tracking."
WF_HELP = (
    "Weather forecasts (overrides data.weather_forecast): NetCDF (issue_time, time, station) or a wide CSV "
    "with an optional issue_time column (else each day's rows count as issued issue_lead_hours before its "
    "midnight); the newest forecast issued at or before the issue time is used."
)
URI_HELP = "MLflow tracking URI; overrides the config and MLFLOW_TRACKING_URI (default sqlite:///mlflow.db)."


#: Backtest period used with the bundled GEFCom2012 data when none is given: the issue's
#: test year (2007-07-01 .. 2008-06-30), trained on everything before it.
GEFCOM_PERIOD = {"train_end": "2007-07-01", "test_end": "2008-07-01"}


def _train_config(
    config: Path | None,
    tracking_uri: str | None,
    *,
    required: bool,
    train_end: str | None = None,
    test_end: str | None = None,
    load: str | None = None,
    weather: str | None = None,
) -> Any:
    """The training config from ``config`` plus command-line overrides.

    ``config`` is either a training config (a YAML mapping with a ``forecast:`` section, see
    :class:`~gridai.pipelines.training.TrainConfig`) or a bare forecast config such as
    ``configs/forecast/*.yaml`` (:class:`~gridai.forecast.config.ForecastConfig`), which is
    then trained on the bundled GEFCom2012 data (or ``--load``/``--weather``) and backtested
    on ``--train-end``/``--test-end`` (default for GEFCom2012: the 2007-07 .. 2008-06 test year).
    """
    from gridai.config import load_config, parse_config, read_yaml
    from gridai.exceptions import GridAIConfigError
    from gridai.forecast.config import ForecastConfig
    from gridai.pipelines.training import TrainConfig

    if config is None and required:
        raise GridAIConfigError("gridai train needs a config: -c configs/forecast/<name>.yaml")
    raw: Any = read_yaml(config) if config is not None else None
    if config is None:
        cfg = parse_config(TrainConfig, {}, source="defaults")
    elif isinstance(raw, dict) and "forecast" in raw:
        cfg = load_config(TrainConfig, config)
    else:
        forecast_cfg = load_config(ForecastConfig, config)
        cfg = parse_config(TrainConfig, {}, source="defaults")
        cfg.forecast = forecast_cfg
    overrides = {"load": load, "weather": weather}
    for key, value in overrides.items():
        if value:
            setattr(cfg.data, key, value)
    period = dict(cfg.backtest.model_dump(mode="json")) if cfg.backtest is not None else {}
    if not period and cfg.data.load.lower() == "gefcom2012" and cfg.data.weather.lower() == "gefcom2012":
        period = dict(GEFCOM_PERIOD)
    period.update({k: v for k, v in {"train_end": train_end, "test_end": test_end}.items() if v})
    if period:
        from gridai.pipelines.training import BacktestPeriodConfig

        cfg.backtest = parse_config(
            BacktestPeriodConfig, period, source=f"{config} backtest / --train-end --test-end"
        )
    if tracking_uri:
        cfg.tracking.tracking_uri = tracking_uri
    return cfg


def _store(tracking: Any) -> Any:
    from gridai.tracking.connection import make_client
    from gridai.tracking.store import ModelStore

    return ModelStore(make_client(tracking), tracking)


def _limits(tracking: Any) -> Any:
    from gridai.tracking.connection import mlflow_http_limits

    return mlflow_http_limits(tracking.http_timeout_s, tracking.http_max_retries)


def train(
    config: Path = typer.Option(..., "--config", "-c", help=CONFIG_HELP),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    promote: bool = typer.Option(False, "--promote", help="Then try to make the new version champion."),
    no_register: bool = typer.Option(False, "--no-register", help="Log the run and model, do not register."),
    train_end: str | None = typer.Option(None, "--train-end", help="First test day (overrides the config)."),
    test_end: str | None = typer.Option(None, "--test-end", help="Day after the last test day (overrides)."),
    load: str | None = typer.Option(
        None, "--load", help="Load source (overrides the config; default gefcom2012)."
    ),
    weather: str | None = typer.Option(None, "--weather", help="Weather source (overrides the config)."),
    weather_forecast: str | None = typer.Option(None, "--weather-forecast", help=WF_HELP),
) -> None:
    """Backtest on the config's period, fit, log to MLflow and register as a new version.

    The config is a training config (forecast/data/backtest/tracking sections) or a bare
    forecast config (configs/forecast/*.yaml) trained on the bundled GEFCom2012 data and
    backtested on its 2007-07-01 .. 2008-06-30 test year unless --load/--train-end/... say
    otherwise. Prints the run id and the registered version.
    """
    from gridai.pipelines.training import (
        read_training_data,
        read_training_weather_forecast,
        train_and_register,
    )

    cfg = _train_config(
        config,
        tracking_uri,
        required=True,
        train_end=train_end,
        test_end=test_end,
        load=load,
        weather=weather,
    )
    if weather_forecast:
        cfg.data.weather_forecast = weather_forecast
    wf = read_training_weather_forecast(cfg)  # before the store is touched or anything is trained
    with _limits(cfg.tracking):
        store = _store(cfg.tracking)
        load_ds, weather_ds = read_training_data(cfg.data)
        result = train_and_register(
            cfg,
            store,
            load_ds,
            weather_ds,
            register=not no_register,
            try_promote=promote,
            weather_forecast=wf,
        )
    system = result.metrics.get("system", {})
    typer.echo(f"run_id: {result.run_id}")
    typer.echo(f"model_uri: {result.model_uri}")
    typer.echo(f"version: {result.version or '-'} ({cfg.tracking.model_name})")
    typer.echo(
        "backtest system: " + ", ".join(f"{k} {v:.4g}" for k, v in system.items() if isinstance(v, float))
    )
    if result.promotion is not None:
        typer.echo(f"promotion: {result.promotion.reason}")


def forecast(
    date: str = typer.Option(..., "--date", help="Target day D (YYYY-MM-DD, local day of the data)."),
    out: Path = typer.Option(..., "--out", help="Output directory: forecast.nc and forecasts.csv."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help=CONFIG_HELP + " Only data/tracking are used."
    ),
    model_uri: str = typer.Option(
        "models:/gridai-load@champion",
        "--model-uri",
        help="models:/<name>@<alias>, models:/<name>/<version>, or a local model directory.",
    ),
    load: str | None = typer.Option(
        None, "--load", help="Load source (overrides the config; default gefcom2012)."
    ),
    weather: str | None = typer.Option(None, "--weather", help="Weather source (overrides the config)."),
    weather_forecast: str | None = typer.Option(None, "--weather-forecast", help=WF_HELP),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
) -> None:
    """Forecast day D with a registered (or local) model; write forecast.nc + forecasts.csv."""
    import pandas as pd

    from gridai.config import parse_iso_date
    from gridai.exceptions import GridAIDataError
    from gridai.forecast.output import write_forecast
    from gridai.pipelines.training import read_training_data
    from gridai.tracking.store import load_local_model

    cfg = _train_config(config, tracking_uri, required=False, load=load, weather=weather)
    day = pd.Timestamp(parse_iso_date(date, "--date"))
    if out.exists() and not out.is_dir():
        raise GridAIDataError(f"--out {out} exists and is not a directory", file=str(out))
    with _limits(cfg.tracking):
        if model_uri.startswith(("models:/", "runs:/")):
            model, resolved = _store(cfg.tracking).load_forecaster(model_uri)
            label = f"{resolved.name} version {resolved.version}" if resolved.version else model_uri
        else:
            model, label = load_local_model(model_uri), model_uri
    if weather_forecast:
        cfg.data.weather_forecast = weather_forecast
    wf = None
    if cfg.data.weather_forecast:
        from gridai.data.readers import read_weather_forecast

        wf = read_weather_forecast(
            cfg.data.weather_forecast,
            issue_lead_hours=model.cfg.issue_lead_hours,
            opts=cfg.data.options,
            day_tz=str(getattr(model, "tz", "") or "UTC"),
        )
    load_ds, weather_ds = read_training_data(cfg.data)
    tz = str(getattr(model, "tz", "") or load_ds.attrs.get("source_tz", "UTC"))
    _check_day(load_ds, weather_ds, day, tz, forecast=wf is not None)
    ds = model.predict(load_ds, weather_ds, day.date(), weather_forecast=wf)
    write_forecast(ds, out)
    typer.echo(
        f"forecast of {day.date()} by {label} ({ds.attrs.get('weather', '?')} weather) written to {out}"
    )


def _check_day(load: Any, weather: Any, day: Any, tz: str, *, forecast: bool = False) -> None:
    """Reject a target day (local to ``tz``) without load before it or without its own weather
    (with a weather ``forecast``, observed weather is needed only before the day)."""
    import pandas as pd

    from gridai.exceptions import GridAIDataError

    start = pd.Timestamp(day.date()).tz_localize(tz).tz_convert("UTC").tz_localize(None)
    end = (
        (pd.Timestamp(day.date()) + pd.Timedelta(days=1)).tz_localize(tz).tz_convert("UTC").tz_localize(None)
    )
    lt = pd.DatetimeIndex(load["time"].values)
    wt = pd.DatetimeIndex(weather["time"].values)
    step = pd.Timedelta(str(weather.attrs.get("resolution", "1h")))
    if not (lt[0] < start and wt[0] <= start and (forecast or end <= wt[-1] + step)):
        raise GridAIDataError(
            f"--date {day.date()} is outside the data: load {lt[0].date()} .. {lt[-1].date()}, "
            f"weather {wt[0].date()} .. {wt[-1].date()} (UTC); the day ({tz}) needs load before it "
            "and its own weather",
            timestamps=[str(day.date())],
        )


def promote(
    version: str | None = typer.Option(None, "--version", help="Candidate version (default: the newest)."),
    force: bool = typer.Option(False, "--force", help="Promote even if it does not beat the champion."),
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP + " Only tracking is used."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
) -> None:
    """Make a version the champion if it beats the current one on the same backtest.

    Exit 2 when refused (worse, or not backtested the same way) unless --force.
    """
    from gridai.tracking.promotion import promote as do_promote

    cfg = _train_config(config, tracking_uri, required=False)
    with _limits(cfg.tracking):
        result = do_promote(_store(cfg.tracking), version, force=force)
    typer.echo(result.reason)
    if not result.promoted and result.previous != result.candidate:
        fail(f"promotion refused: {result.reason}")


def models(
    config: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP + " Only tracking is used."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the registered versions with their aliases and backtest metric, and the alias history."""
    from rich.console import Console
    from rich.table import Table

    from gridai.tracking.promotion import alias_history, metric_tag

    cfg = _train_config(config, tracking_uri, required=False)
    tc = cfg.tracking
    with _limits(tc):
        store = _store(tc)
        versions = store.versions()
        aliases = store.aliases()
        history = alias_history(store)
    rows = [
        {
            "version": str(mv.version),
            "aliases": sorted(a for a, v in aliases.items() if v == str(mv.version)),
            tc.promotion_metric: _fmt(mv.tags.get(metric_tag(tc.promotion_metric))),
            "backtest": f"{mv.tags.get('gridai.backtest.train_end', '?')}..{mv.tags.get('gridai.backtest.test_end', '?')}",
            "model": mv.tags.get("gridai.model"),
            "run_id": mv.run_id,
        }
        for mv in versions
    ]
    if as_json:
        emit_json({"model": tc.model_name, "versions": rows, "alias_history": history})
        return
    table = Table(title=f"{tc.model_name} in {store.uri}")
    for col in ("version", "aliases", tc.promotion_metric, "backtest", "model", "run_id"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*(", ".join(v) if isinstance(v, list) else str(v or "") for v in r.values()))
    out = Console(highlight=False)
    out.print(table)
    for h in history:
        out.print(
            f"{h['at']} {h['alias']}: {h['from_version'] or '-'} -> {h['to_version']} by {h['by']}"
            f"{' (forced)' if h['forced'] else ''}: {h['reason']}"
        )


def _fmt(value: str | None) -> str | None:
    try:
        return None if value is None else f"{float(value):.4g}"
    except ValueError:
        return value


def register(app: typer.Typer) -> None:
    """Register the forecast commands on the root app."""
    app.command("train")(cli_errors(train))
    app.command("forecast")(cli_errors(forecast))
    app.command("promote")(cli_errors(promote))
    app.command("models")(cli_errors(models))
