"""Typed configuration of the scheduled day-ahead job (``configs/dayahead.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from gridai.config import StrictModel
from gridai.data.recent import RecentChecksConfig
from gridai.grid.health import HealthConfig
from gridai.pipelines.dayahead.feeders import FeederSpec, SyntheticFeeders
from gridai.pipelines.dayahead.readiness import ReadinessConfig
from gridai.pipelines.distributed import DaskConfig
from gridai.tracking.config import TrackingConfig


class DataSourceConfig(StrictModel):
    """Where the job reads load and weather, and how strictly it gates them."""

    kind: Literal["gefcom2012", "wide_csv"] = Field(
        "gefcom2012",
        description="'gefcom2012' (the bundled competition files) or 'wide_csv' (the generic format).",
    )
    load_path: Path = Field(
        Path("data/gefcom2012"),
        description="GEFCom2012 directory, or the wide load CSV (timestamp + one column per series) [kW].",
    )
    weather_path: Path | None = Field(
        None,
        description="Wide weather CSV (timestamp + one column per station) [degC]; unused for gefcom2012.",
    )
    weather_forecast_path: Path | None = Field(
        None,
        description="Weather forecasts of the run (tomorrow's weather is not observed at the issue time): "
        "NetCDF temperature (issue_time, time, station), or a wide CSV like weather_path with an optional "
        "issue_time column (without it, local day d's rows count as issued weather_forecast_issue_lead_hours "
        "before d's local midnight). Observed weather is used up to the issue time, the newest forecast "
        "issued at or before it after; None = observed weather only (ex-post, for history).",
    )
    weather_forecast_issue_lead_hours: float | None = Field(
        None,
        ge=0,
        description="Wide-CSV forecasts without an issue_time column: hours before local midnight of each "
        "target day they count as issued [h]; None = the job's issue lead (each day's own run).",
    )
    timezone: str = Field("UTC", description="Time zone of naive timestamps in wide CSVs.")
    interval: Literal["start", "end"] = Field(
        "start", description="Wide CSVs: timestamps label the interval 'start' or 'end' (hour-ending, 24:00)."
    )
    dayfirst: bool | None = Field(
        None, description="Wide CSVs: dates like 03/04/2024 are day first (true) or month first (false)."
    )
    date_format: str | None = Field(None, description="Wide CSVs: exact strptime format of the timestamps.")
    recent_checks: RecentChecksConfig = Field(
        default_factory=RecentChecksConfig,
        description="Checks of the last days before the issue time (gridai.data.recent); an error finding "
        "is a data_fault fallback naming the series (exit 1), or fails the gate with strict.",
    )
    history_days: int = Field(
        120, ge=14, description="Days of history before D loaded for the forecast and the report [d]."
    )
    strict: bool = Field(
        False,
        description="Quality gate: true = an error-severity finding fails the forecast input (the baseline is "
        "substituted); false = data are cleaned and findings reported as warnings.",
    )


class ModelSourceConfig(StrictModel):
    """Which forecaster the job uses and what replaces it when it cannot be used."""

    uri: str = Field(
        "models:/gridai-load@champion",
        description="MLflow model URI (models:/name@alias, runs:/...), a local model directory, or "
        "'baseline:seasonal_naive' / 'baseline:vanilla' to use a baseline on purpose (not flagged).",
    )
    fallback: Literal["seasonal_naive", "vanilla"] = Field(
        "seasonal_naive", description="Baseline substituted when the model or its inputs cannot be used."
    )
    train_if_missing: bool = Field(
        False,
        description="When the URI names the registry and no champion exists, train one first with "
        "`training_config` and register it as champion (the demo's fresh-machine path).",
    )
    training_config: Path | None = Field(
        None, description="Forecast training config (YAML) used when train_if_missing is set."
    )
    sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description="Expected digest of a local model directory (as run.json model.sha256 records it); "
        "a model whose files differ is not used (the baseline is substituted, flagged).",
    )


class PriceConfig(StrictModel):
    """Tariff the batteries respond to (time of use, local hours)."""

    offpeak_per_kwh: float = Field(0.08, ge=0, description="Energy price outside the peak window [$/kWh].")
    peak_per_kwh: float = Field(0.20, ge=0, description="Energy price inside the peak window [$/kWh].")
    peak_start_hour: int = Field(13, ge=0, le=23, description="First local hour of the peak window.")
    peak_end_hour: int = Field(20, ge=1, le=24, description="Local hour the peak window ends (exclusive).")
    demand_charge_per_kw: float = Field(0.5, ge=0, description="Charge on the day's peak import [$/kW].")


class JobDispatchConfig(StrictModel):
    """How the job dispatches each feeder's batteries."""

    mode: Literal["deterministic", "scenario"] = Field(
        "deterministic", description="Median-forecast dispatch, or scenario-based from the quantiles."
    )
    network_check: bool = Field(True, description="LinDistFlow voltage/thermal limits and the AC check.")
    v_min_pu: float = Field(
        0.92,
        gt=0.5,
        lt=1.0,
        description="Lowest bus voltage the dispatch must respect [pu] (ANSI C84.1 range B is 0.917); the "
        "health report flags buses below health.v_min_pu (0.95, range A) as a warning.",
    )
    ac_check_intervals: int = Field(2, ge=0, description="AC checks of the dispatch engine per feeder.")
    time_limit_s: float = Field(30.0, gt=0, description="Solver time limit per feeder [s].")
    mip_gap: float = Field(1e-4, ge=0, description="Relative MIP gap.")
    price: PriceConfig = Field(default_factory=PriceConfig, description="Tariff.")
    idle_on_failure: bool = Field(
        True,
        description="A feeder whose dispatch is infeasible or errors gets a safe idle schedule (flagged, exit 1); "
        "false = the run ends with exit 3 when any feeder has no feasible plan.",
    )


class ReportConfig(StrictModel):
    """The HTML report."""

    actual_days: int = Field(
        3, ge=0, le=14, description="Days of recent actuals before D shown on the charts."
    )
    max_feeder_charts: int = Field(
        6,
        ge=0,
        description="Most exposed feeders charted individually (most banner items, then lowest voltage); "
        "every feeder is a table row. Bounds the report's rendering cost whatever the feeder count.",
    )
    title: str = Field("gridai day-ahead", description="Report title.")


class DayAheadConfig(StrictModel):
    """The scheduled day-ahead job: forecast -> dispatch -> feeder health -> report."""

    data: DataSourceConfig = Field(default_factory=DataSourceConfig, description="Inputs and gates.")
    model: ModelSourceConfig = Field(default_factory=ModelSourceConfig, description="Forecaster.")
    forecast_issue_lead_hours: float | None = Field(
        None, ge=0, description="Override of the model's issue lead [h]; None = the model's own."
    )
    feeders: list[FeederSpec] = Field(default_factory=list, description="Feeders, each driven by one series.")
    synthetic_feeders: SyntheticFeeders | None = Field(
        None, description="Generate feeders from the zones instead of (or in addition to) the list."
    )
    dispatch: JobDispatchConfig = Field(default_factory=JobDispatchConfig, description="Dispatch.")
    health: HealthConfig = Field(default_factory=HealthConfig, description="Feeder health power flows.")
    readiness: ReadinessConfig = Field(
        default_factory=ReadinessConfig,
        description="Restoration readiness: N-1 FLISR plans at the peak of D.",
    )
    dask: DaskConfig = Field(default_factory=DaskConfig, description="Where per-feeder tasks run.")
    tracking: TrackingConfig = Field(
        default_factory=lambda: TrackingConfig(experiment="gridai-dayahead"), description="MLflow."
    )
    track_runs: bool = Field(True, description="Log each run (params, metrics, outputs) to MLflow.")
    report: ReportConfig = Field(default_factory=ReportConfig, description="Report.")

    @model_validator(mode="after")
    def _check_feeders(self) -> DayAheadConfig:
        names = [f.name for f in self.feeders]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"feeder names must be unique; repeated: {dup}")
        if not self.feeders and self.synthetic_feeders is None:
            raise ValueError("no feeders: give 'feeders' or 'synthetic_feeders'")
        return self
