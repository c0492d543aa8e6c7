"""Typed configuration of the MLflow tracking store and the model registry."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gridai.config import StrictModel

#: Backtest metrics a promotion may compare, each with the direction that is better.
#: Keys are ``<scope>_<metric>`` as logged on the training run (``system_mape`` is
#: ``metrics.json["system"]["mape"]``); "min" means lower is better.
PROMOTION_METRICS: dict[str, Literal["min", "max"]] = {
    "system_mape": "min",
    "system_rmse": "min",
    "system_pinball": "min",
    "system_accuracy": "max",
}


class TrackingConfig(StrictModel):
    """Where runs and models are tracked, and how the registry promotes a champion.

    The tracking URI is resolved as: ``tracking_uri`` here > the ``MLFLOW_TRACKING_URI``
    environment variable > ``sqlite:///mlflow.db`` in the working directory.
    """

    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI (sqlite:///path.db, http://host:5000, ...). None = "
        "MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the working directory.",
    )
    registry_uri: str | None = Field(default=None, description="Model registry URI; None = the tracking URI.")
    artifact_location: str | None = Field(
        default=None,
        description="Artifact location given to a *new* experiment. None = 'mlartifacts' next to the "
        "SQLite file for a database store, the server's default for an HTTP store.",
    )
    experiment: str = Field(
        default="gridai-load", min_length=1, description="Experiment the training runs go to."
    )
    model_name: str = Field(default="gridai-load", min_length=1, description="Registered model name.")
    champion_alias: str = Field(
        default="champion", min_length=1, description="Alias of the production model."
    )
    promotion_metric: Literal["system_mape", "system_rmse", "system_pinball", "system_accuracy"] = Field(
        default="system_mape",
        description="Backtest metric a candidate must beat the champion on to be promoted "
        "(both measured on the same backtest period).",
    )
    connect_timeout_s: float = Field(
        default=5.0,
        gt=0.0,
        le=120.0,
        description="Time allowed for the reachability check of an HTTP server [s].",
    )
    http_timeout_s: int = Field(
        default=30,
        ge=1,
        le=600,
        description="Timeout of each MLflow HTTP request (MLFLOW_HTTP_REQUEST_TIMEOUT) [s].",
    )
    http_max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries of a failed MLflow HTTP request (MLFLOW_HTTP_REQUEST_MAX_RETRIES); MLflow's "
        "default of 7 with exponential back-off waits minutes before failing.",
    )
