"""Typed configuration of the day-ahead load forecasters (one model for all families)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator

from gridai.config import StrictModel
from gridai.forecast.calibration import CalibrationMethod

ReconciliationMethod = Literal["auto", "bottom_up", "top_down", "mint_shrink"]


def _default_quantiles() -> list[float]:
    return [round(0.1 * k, 1) for k in range(1, 10)]


class ForecastConfig(StrictModel):
    """Configuration of a day-ahead forecaster, its training and its backtest.

    The same config trains on CPU or CUDA; only ``device`` differs.
    """

    model: str = Field(
        default="gridai_nn",
        description="Registered forecaster name: 'gridai_nn' (global PyTorch quantile network), "
        "'seasonal_naive' (same interval last week) or 'vanilla' (Hong's MLR benchmark).",
    )
    issue_lead_hours: float = Field(
        default=14.0,
        ge=0.0,
        le=144.0,
        description="Hours between the issue time and 00:00 (local) of the target day [h]; 14 = 10:00 on D-1. "
        "Only load observed before the issue time is used.",
    )
    quantiles: list[float] = Field(
        default_factory=_default_quantiles,
        description="Quantile levels forecast, strictly increasing in (0, 1); must contain 0.5.",
    )
    nonnegative: bool = Field(
        default=True,
        description=(
            "Load is a demand: quantiles below the median are raised to zero where they fall below it "
            "(never above the median; median and mean are untouched, so they stay coherent). "
            "Set false for net load with generation behind the meter."
        ),
    )
    timezone: str | None = Field(
        default=None,
        description="IANA time zone defining the local target day; None = the load's 'source_tz' attribute.",
    )
    validation_days: int = Field(
        default=56,
        ge=7,
        description="Days just before the training end held out for early stopping and for choosing and "
        "fitting the reconciliation (must precede any test period) [d].",
    )
    refit_full: bool = Field(
        default=True,
        description="After early stopping, retrain on training + validation days for the best number of epochs.",
    )
    min_train_days: int = Field(default=28, ge=7, description="Fewest complete training days accepted [d].")
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="Torch device; 'auto' = CUDA when available. CUDA trains with bf16 autocast.",
    )
    seed: int = Field(
        default=0, description="Random seed (weights, batches); runs on CPU are bit-reproducible."
    )
    ensemble_size: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Networks trained with seeds seed, seed+1, ...; their quantiles are averaged.",
    )
    epochs: int = Field(default=60, ge=1, description="Maximum training epochs.")
    patience: int = Field(
        default=8, ge=1, description="Early-stopping patience: epochs without validation improvement."
    )
    batch_size: int = Field(default=256, ge=8, description="Training batch size [samples = series x days].")
    hidden_sizes: list[int] = Field(
        default_factory=lambda: [512, 256], description="Widths of the hidden layers of the MLP."
    )
    embedding_dim: int = Field(default=8, ge=1, description="Size of the learned series embedding.")
    dropout: float = Field(
        default=0.1, ge=0.0, lt=1.0, description="Dropout probability in the hidden layers."
    )
    learning_rate: float = Field(default=1e-3, gt=0.0, description="AdamW learning rate.")
    weight_decay: float = Field(default=1e-4, ge=0.0, description="AdamW weight decay.")
    history_days: int = Field(
        default=7,
        ge=1,
        le=28,
        description="Days of load history before the issue time fed to the network [d].",
    )
    holiday_country: str | None = Field(
        default="US", description="Country code for the `holidays` package; None = no public holidays."
    )
    holiday_subdivision: str | None = Field(
        default=None, description="Subdivision (state/province) for `holidays`."
    )
    extra_holidays: list[dt.date] = Field(
        default_factory=list,
        description="User holiday dates added to the calendar (e.g. GEFCom's Holiday_List).",
    )
    reconciliation: ReconciliationMethod = Field(
        default="auto",
        description="Hierarchy reconciliation: 'bottom_up', 'top_down' (historical proportions), "
        "'mint_shrink' (MinT, Schäfer-Strimmer shrinkage) or 'auto' (the method with the lowest MAPE averaged "
        "over every node of the hierarchy on the validation days; the system MAPE of each is logged beside it).",
    )
    calibration: CalibrationMethod = Field(
        default="cqr",
        description="Recalibration of the quantiles on out-of-sample days before the training end "
        "(gridai.forecast.calibration): each quantile's offset from the median is rescaled, per node and level, "
        "to its conformal quantile of the scaled residuals, with one factor for all hours ('cqr') or one per hour "
        "of the day ('cqr_hourly'); 'none' serves the quantiles as trained. Medians (and so MAPE) and "
        "coherence are unchanged. A model saved without calibration predicts as trained whatever this says.",
    )
    calibration_days: int = Field(
        default=365,
        ge=7,
        description="Days of out-of-sample forecasts the calibration is fitted on: the last ones before the "
        "training end, at most half the usable days. More than the validation days costs one more training (the "
        "refit recipe on the days before them); a full year covers every season [d].",
    )
    progress_bar: bool = Field(default=True, description="Show a rich progress bar while training.")
    baseline_residual_days: int = Field(
        default=365, ge=14, description="Days of history whose residuals give the baselines' quantiles [d]."
    )

    @field_validator("quantiles")
    @classmethod
    def _check_quantiles(cls, v: list[float]) -> list[float]:
        if not v or any(not 0.0 < q < 1.0 for q in v):
            raise ValueError("quantiles must lie strictly between 0 and 1")
        if any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("quantiles must be strictly increasing")
        if not any(abs(q - 0.5) < 1e-9 for q in v):
            raise ValueError("quantiles must contain 0.5 (the median is the point forecast)")
        return [float(q) for q in v]
