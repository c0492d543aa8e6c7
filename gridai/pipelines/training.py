"""Training job: read data, backtest, fit, log everything to MLflow, register the model.

``gridai train -c CONFIG`` runs :func:`train_and_register`. One MLflow run holds the
parameters, the load data as a dataset input (with its SHA-256), the per-epoch training
history, the backtest metrics, ``metrics.json``, ``forecasts.csv`` and plots, and the model
(Forecaster JSON + safetensors, no pickle). The registered version carries the backtest
metric and the backtest definition as tags, so :func:`gridai.tracking.promotion.promote`
can check that two versions were measured on the same backtest.

The YAML read by ``gridai train -c`` (:class:`TrainConfig`; unknown keys are errors)::

    forecast:                 # gridai.forecast.config.ForecastConfig
      model: gridai_nn
      issue_lead_hours: 0
    data:                     # gridai.data.sources.read_source specs
      load: gefcom2012
      weather: gefcom2012
    backtest:
      train_end: 2007-07-01   # first test day
      test_end: 2008-07-01    # day after the last test day
      retrain_every_days: 0
    final_fit_end: train_end  # the registered model is the backtested one
    tracking:                 # gridai.tracking.config.TrackingConfig (all optional)
      model_name: gridai-load
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from pydantic import Field, model_validator

from gridai.config import StrictModel
from gridai.data.options import ReaderOptions
from gridai.exceptions import GridAIConfigError, GridAIDataError
from gridai.forecast.config import ForecastConfig
from gridai.tracking.config import TrackingConfig
from gridai.tracking.promotion import PromotionResult, metric_tag, promote
from gridai.tracking.store import ModelStore, data_digest

logger = logging.getLogger(__name__)

METRIC_KEYS = ("mape", "rmse", "accuracy", "pinball", "crps", "coverage50", "coverage80")


class TrainDataConfig(StrictModel):
    """Where the training job reads load and weather (see :func:`gridai.data.sources.read_source`)."""

    load: str = Field(
        default="gefcom2012",
        description="'gefcom2012' (bundled copy), a GEFCom2012 folder, or a load file (.csv wide/long, .parquet, .nc).",
    )
    weather: str = Field(default="gefcom2012", description="As ``load``, for the temperature observations.")
    weather_forecast: str | None = Field(
        default=None,
        description="Weather forecasts the backtest serves the model with (ex-ante): NetCDF temperature "
        "(issue_time, time, station) or a wide CSV with an optional issue_time column (without it, each UTC "
        "day's rows count as issued forecast.issue_lead_hours before its midnight); None = observed weather.",
    )
    options: ReaderOptions = Field(
        default_factory=ReaderOptions, description="How to read user files (time zone, interval, units)."
    )


class BacktestPeriodConfig(StrictModel):
    """The backtest that scores the model (and that promotions compare on)."""

    train_end: dt.date = Field(description="First day of the test period; training uses data before it.")
    test_end: dt.date = Field(description="End of the test period (exclusive).")
    retrain_every_days: int = Field(
        default=0, ge=0, description="Retrain before each block of this many test days; 0 = train once."
    )

    @model_validator(mode="after")
    def _ordered(self) -> BacktestPeriodConfig:
        if self.test_end <= self.train_end:
            raise ValueError(f"test_end {self.test_end} must be after train_end {self.train_end}")
        return self


class TrainConfig(StrictModel):
    """``gridai train`` configuration: model, data, backtest period, tracking."""

    forecast: ForecastConfig = Field(
        default_factory=lambda: ForecastConfig.model_validate({}),
        description="The forecaster and its training.",
    )
    data: TrainDataConfig = Field(default_factory=TrainDataConfig, description="Input data.")
    backtest: BacktestPeriodConfig | None = Field(
        default=None, description="Backtest period; required to train (optional for `gridai forecast`)."
    )
    final_fit_end: Literal["train_end", "test_end"] = Field(
        default="train_end",
        description="Data the registered model is fitted on: up to train_end (exactly the model that was "
        "backtested) or up to test_end (all data of the period, for operations).",
    )
    tracking: TrackingConfig = Field(default_factory=TrackingConfig, description="MLflow store and registry.")
    example_history_days: int = Field(
        default=0,
        ge=0,
        le=60,
        description="Days of data in the model's input example; 0 = the model's history_days + 2.",
    )


@dataclass
class TrainResult:
    """What a training run produced."""

    run_id: str
    model_uri: str
    version: str | None
    metrics: dict[str, Any]
    data_sha256: str
    timings_s: dict[str, float] = field(default_factory=dict)
    promotion: PromotionResult | None = None


def read_training_data(cfg: TrainDataConfig) -> tuple[xr.Dataset, xr.Dataset]:
    """Load and weather named by ``cfg``."""
    from gridai.data.sources import read_source

    return read_source(cfg.load, "load", cfg.options), read_source(cfg.weather, "weather", cfg.options)


def read_training_weather_forecast(cfg: TrainConfig) -> xr.Dataset | None:
    """The weather forecasts of ``cfg.data.weather_forecast`` (``None`` when not given)."""
    if cfg.data.weather_forecast is None:
        return None
    from gridai.data.readers import read_weather_forecast

    return read_weather_forecast(
        cfg.data.weather_forecast, issue_lead_hours=cfg.forecast.issue_lead_hours, opts=cfg.data.options
    )


def check_period(load: xr.Dataset, period: BacktestPeriodConfig) -> None:
    """The backtest period must lie inside the load data.

    Raises
    ------
    GridAIDataError
        ``train_end`` is not after the first timestamp or ``test_end`` is past the last day.
    """
    t = pd.DatetimeIndex(load["time"].values)
    first, last = t[0], t[-1]
    if pd.Timestamp(period.train_end) <= first or pd.Timestamp(period.test_end) > last + pd.Timedelta(days=1):
        raise GridAIDataError(
            f"backtest period {period.train_end} .. {period.test_end} is not inside the load data "
            f"({first.date()} .. {last.date()}); set backtest.train_end/test_end inside it",
            timestamps=[str(period.train_end), str(period.test_end)],
        )


def flat_params(cfg: TrainConfig, source: dict[str, str]) -> dict[str, Any]:
    """Flat run parameters: the forecast config, the backtest period, the data sources."""
    params: dict[str, Any] = {f"forecast.{k}": v for k, v in cfg.forecast.model_dump(mode="json").items()}
    if cfg.backtest is not None:
        params.update({f"backtest.{k}": str(v) for k, v in cfg.backtest.model_dump().items()})
    params["final_fit_end"] = cfg.final_fit_end
    params.update({f"data.{k}": v for k, v in source.items()})
    return params


def backtest_metrics_flat(metrics: dict[str, Any]) -> dict[str, float]:
    """``{"system_mape": .., "series/<name>/mape": ..}`` from a ``metrics.json``-shaped dict."""
    flat = {f"system_{k}": float(v) for k, v in metrics.get("system", {}).items() if k in METRIC_KEYS}
    for name, scores in metrics.get("series", {}).items():
        flat.update({f"series/{name}/{k}": float(v) for k, v in scores.items() if k in METRIC_KEYS})
    return flat


def train_and_register(
    cfg: TrainConfig,
    store: ModelStore,
    load: xr.Dataset,
    weather: xr.Dataset,
    *,
    source: dict[str, str] | None = None,
    register: bool = True,
    try_promote: bool = False,
    weather_forecast: xr.Dataset | None = None,
) -> TrainResult:
    """Backtest ``cfg.forecast`` on ``cfg.backtest``, fit the final model, log it all, register it.

    Parameters
    ----------
    cfg:
        Training configuration.
    store:
        Where the run and the model go.
    weather_forecast:
        Weather forecasts ``(issue_time, time, station)`` the backtest serves the model with
        (:func:`read_training_weather_forecast`); ``None``: observed weather (ex-post).
    load, weather:
        Canonical datasets (see :mod:`gridai.data.schema`).
    source:
        Data provenance recorded with the run (e.g. ``{"load": "gefcom2012"}``).
    register:
        Register the model as a new version of ``cfg.tracking.model_name``.
    try_promote:
        After registering, try to make the new version champion (:func:`promote`, not forced).

    Raises
    ------
    GridAIDataError
        The backtest period is outside the data, or too little data to train.
    """
    from gridai.forecast.backtest import run_backtest
    from gridai.forecast.registry import make_forecaster

    if cfg.backtest is None:
        raise GridAIConfigError(
            "the training config has no 'backtest' section; add backtest.train_end and backtest.test_end",
            keys=["backtest"],
        )
    period = cfg.backtest
    check_period(load, period)
    cfg = with_gefcom_holidays(cfg)
    source = source or {"load": cfg.data.load, "weather": cfg.data.weather}
    train_end = pd.Timestamp(period.train_end)
    test_end = pd.Timestamp(period.test_end)
    timings: dict[str, float] = {}
    run_name = f"{cfg.forecast.model} {period.train_end}..{period.test_end}"
    with store.run(run_name, tags={"gridai.job": "train", "gridai.model": cfg.forecast.model}) as run_id:
        logger.info("training run %s (%s)", run_id, run_name)
        store.log_params(run_id, flat_params(cfg, source))
        digest = store.log_dataset(run_id, load, source.get("load", "unknown"))
        test_slice = load.sel(
            time=slice(np.datetime64(train_end), np.datetime64(test_end - pd.Timedelta(1, "ns")))
        )
        test_digest = data_digest(test_slice)

        t0 = time.perf_counter()
        result = run_backtest(
            cfg.forecast,
            load,
            weather,
            train_end=train_end,
            test_end=test_end,
            retrain_every_days=period.retrain_every_days,
            weather_forecast=weather_forecast,
        )
        timings["backtest_s"] = time.perf_counter() - t0
        metrics = dict(result.metrics)
        store.log_metrics(run_id, backtest_metrics_flat(metrics))
        with tempfile.TemporaryDirectory(prefix="gridai-backtest-") as tmp:
            result.write(Path(tmp))
            store.log_artifacts(run_id, tmp, "backtest")

        fit_end = train_end if cfg.final_fit_end == "train_end" else test_end
        if cfg.final_fit_end == "train_end" and period.retrain_every_days == 0 and result.forecasters:
            # The backtest trained exactly this model (all data before train_end): register it.
            forecaster = result.forecasters[0]
            timings["fit_s"] = float(metrics.get("train_seconds", 0.0))
        else:
            t0 = time.perf_counter()
            forecaster = make_forecaster(cfg.forecast).fit(load, weather, end=fit_end)
            timings["fit_s"] = time.perf_counter() - t0
        _log_history(store, run_id, forecaster)
        store.log_metrics(run_id, {f"time/{k}": v for k, v in timings.items()})

        example_day = _example_day(load, fit_end)
        history_days = cfg.example_history_days or (cfg.forecast.history_days + 2)
        logged = store.log_forecaster(run_id, forecaster, load, weather, example_day, history_days)
        tags = version_tags(cfg, metrics, test_digest, run_id)
        for key, value in tags.items():
            store.client.set_tag(run_id, key, value)
        version = store.register(logged, tags) if register else None
    promotion = promote(store, version) if (register and try_promote and version is not None) else None
    return TrainResult(run_id, logged.model_uri, version, metrics, digest, timings, promotion)


def with_gefcom_holidays(cfg: TrainConfig) -> TrainConfig:
    """Add GEFCom2012's Holiday_List to ``extra_holidays`` when training on the bundled copy.

    Only when the load source is ``gefcom2012`` and the config lists no extra holidays
    itself (the competition ships its own holiday list; the benchmark uses it too).
    """
    if cfg.data.load.lower() != "gefcom2012" or cfg.forecast.extra_holidays:
        return cfg
    from gridai.data.gefcom import read_gefcom_holidays

    forecast = cfg.forecast.model_copy(update={"extra_holidays": read_gefcom_holidays()})
    return cfg.model_copy(update={"forecast": forecast})


def version_tags(cfg: TrainConfig, metrics: dict[str, Any], test_digest: str, run_id: str) -> dict[str, str]:
    """Tags that define the backtest (for "same backtest" checks) and its scores."""
    assert cfg.backtest is not None
    tags = {
        "gridai.backtest.train_end": cfg.backtest.train_end.isoformat(),
        "gridai.backtest.test_end": cfg.backtest.test_end.isoformat(),
        "gridai.backtest.issue_lead_hours": str(float(cfg.forecast.issue_lead_hours)),
        "gridai.backtest.retrain_every_days": str(cfg.backtest.retrain_every_days),
        "gridai.backtest.weather": str(metrics.get("weather", "observed")),
        "gridai.backtest.test_data_sha256": test_digest,
        "gridai.model": cfg.forecast.model,
        "gridai.run_id": run_id,
    }
    for key, value in metrics.get("system", {}).items():
        if key in METRIC_KEYS and value is not None and np.isfinite(float(value)):
            tags[metric_tag(f"system_{key}")] = repr(float(value))
    return tags


def _log_history(store: ModelStore, run_id: str, forecaster: Any) -> None:
    """Per-epoch training history (``Forecaster.history``) as metrics with ``step=epoch``."""
    history = list(getattr(forecaster, "history", []) or [])
    for i, record in enumerate(history):
        step = int(record.get("epoch", i))
        values = {k: float(v) for k, v in record.items() if k != "epoch" and v is not None}
        prefix = "refit/" if values.pop("refit", 0.0) else ""
        member = int(values.pop("member", 0.0))
        prefix += f"member{member}/" if member else ""
        store.log_metrics(run_id, {f"epoch/{prefix}{k}": v for k, v in values.items()}, step=step)


def _example_day(load: xr.Dataset, fit_end: pd.Timestamp) -> pd.Timestamp:
    """Day of the input example: the first day after the fit window that the data cover."""
    last = pd.Timestamp(load["time"].values[-1]).normalize()
    return min(fit_end.normalize(), last)
