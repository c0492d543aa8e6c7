"""Rolling-origin day-ahead backtest: retrain every k days (0 = once), forecast every test day.

Every test day is forecast from data known at its own issue time; the model is retrained
on data strictly before the first day of each block of ``retrain_every_days`` days.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.exceptions import GridAIDataError
from gridai.forecast.base import DayForecasts, Forecaster
from gridai.forecast.config import ForecastConfig
from gridai.forecast.metrics import score
from gridai.forecast.panel import Hierarchy, day_range
from gridai.forecast.plots import plot_error_by_hour, plot_forecast_vs_actual
from gridai.forecast.registry import make_forecaster
from gridai.outputs import atomic_dir

logger = logging.getLogger(__name__)


@dataclass
class BacktestResult:
    """Forecasts and metrics of a backtest.

    Attributes
    ----------
    forecasts:
        One row per (interval, series): ``time`` (naive UTC interval start), ``target_day``,
        ``issue_time``, ``series``, ``actual``, ``mean`` and one column ``q<level>`` per quantile
        (``q0.1`` ... ``q0.9``), reconciled with the fitted method.
    metrics:
        ``{"series": {name: {mape, rmse, accuracy, pinball, crps, coverage50, coverage80}}, "system": {...},
        "model", "issue_lead_hours", "weather"}`` (MAPE and accuracy in %, coverage80 a
        fraction), plus ``"reconciliation"`` (chosen method and the system/series scores of
        bottom-up, top-down and MinT-shrink), ``"test_start"``, ``"test_end"``, ``"train_seconds"``.
    """

    forecasts: pd.DataFrame
    metrics: dict[str, Any]
    quantiles: list[float]
    root: str
    units: str
    forecasters: list[Forecaster] = field(default_factory=list)

    def write(self, out_dir: Path | str) -> Path:
        """Write ``metrics.json``, ``forecasts.csv``, ``forecast_vs_actual.png`` and ``error_by_hour.png``.

        Files are written to a staging directory and moved into ``out_dir`` one by one
        with ``os.replace`` (:func:`gridai.outputs.atomic_dir`, ``merge=True``): no file is ever
        half-written.
        """
        out = Path(out_dir)
        with atomic_dir(out, merge=True) as tmp:
            (tmp / "metrics.json").write_text(json.dumps(_clean(self.metrics), indent=2), encoding="utf-8")
            self.forecasts.to_csv(tmp / "forecasts.csv", index=False, float_format="%.6g")
            plot_forecast_vs_actual(
                self.forecasts,
                self.root,
                tmp / "forecast_vs_actual.png",
                quantiles=self.quantiles,
                units=self.units,
            )
            plot_error_by_hour(self.forecasts, self.root, tmp / "error_by_hour.png")
        logger.info("backtest written to %s", out)
        return out


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _actuals(load: xr.Dataset, h: Hierarchy, times: np.ndarray) -> np.ndarray:
    """Actual load of every node at ``times`` ``(day, step)`` -> ``(day, step, node)``."""
    leaves = load["load"].sel(series=h.leaves).transpose("time", "series")
    flat = leaves.reindex(time=times.ravel()).values @ h.s_matrix.T
    return flat.reshape(*times.shape, len(h.nodes))


def _frame(fc: DayForecasts, actual: np.ndarray) -> pd.DataFrame:
    n_days, spd, n_nodes, n_q = fc.quantiles.shape
    rows = n_days * spd * n_nodes
    frame = pd.DataFrame(
        {
            "time": np.repeat(fc.times.ravel(), n_nodes),
            "target_day": np.repeat([d.isoformat() for d in fc.days], spd * n_nodes),
            "issue_time": np.repeat([t.isoformat() for t in fc.issue_times], spd * n_nodes),
            "series": np.tile(np.array(fc.nodes, dtype=object), n_days * spd),
            "actual": actual.reshape(rows),
            "mean": fc.mean.reshape(rows),
        }
    )
    for k, q in enumerate(fc.quantile_levels):
        frame[f"q{q:g}"] = fc.quantiles[..., k].reshape(rows)
    return frame


def _scores(fc: DayForecasts, actual: np.ndarray) -> dict[str, dict[str, float]]:
    return {
        n: score(actual[..., j], fc.quantiles[:, :, j, :], fc.quantile_levels) for j, n in enumerate(fc.nodes)
    }


def _concat(parts: list[DayForecasts]) -> DayForecasts:
    first = parts[0]
    return DayForecasts(
        days=[d for p in parts for d in p.days],
        times=np.concatenate([p.times for p in parts]),
        issue_times=[t for p in parts for t in p.issue_times],
        nodes=first.nodes,
        quantile_levels=first.quantile_levels,
        quantiles=np.concatenate([p.quantiles for p in parts]),
        mean=np.concatenate([p.mean for p in parts]),
        weather=first.weather,
    )


#: Largest share of test days a backtest may mask; past it the backtest would describe other days.
MAX_MASKED_FRACTION = 0.5


def usable_days(
    cfg: ForecastConfig,
    load: xr.Dataset,
    weather: xr.Dataset,
    days: list[dt.date],
    *,
    weather_forecast: xr.Dataset | None = None,
    strict: bool = False,
) -> tuple[list[dt.date], list[dt.date]]:
    """Split ``days`` into those whose day-ahead inputs exist and those that cannot be forecast,
    in seconds and before any training (the same rules the forecaster applies at predict time).

    Raises
    ------
    GridAIDataError
        More than :data:`MAX_MASKED_FRACTION` of the days are unusable, or ``strict`` and one is
        not; the message names the days and whether the observed weather or the weather
        forecast is what is missing.
    """
    from gridai.forecast.panel import build_panel, make_day_inputs

    tz = cfg.timezone or str(load.attrs.get("source_tz", "UTC"))
    h = Hierarchy.from_dataset(load)
    panel = build_panel(load, weather, h, tz=tz, extend_to=pd.Timestamp(days[-1]) + pd.Timedelta(days=2))
    if strict:
        make_day_inputs(panel, days, cfg.issue_lead_hours, weather_forecast=weather_forecast, strict=True)
        return list(days), []
    _, mask = make_day_inputs(
        panel, days, cfg.issue_lead_hours, weather_forecast=weather_forecast, strict=False
    )
    good = [d for d, ok in zip(days, mask, strict=True) if ok]
    bad = [d for d, ok in zip(days, mask, strict=True) if not ok]
    kind = "weather forecast" if weather_forecast is not None else "observed weather"
    if bad:
        shown = ", ".join(str(d) for d in bad[:10]) + (f" (+{len(bad) - 10} more)" if len(bad) > 10 else "")
        if len(bad) > MAX_MASKED_FRACTION * len(days):
            raise GridAIDataError(
                f"{kind} or load history missing for target day(s) {shown}: {len(bad)} of {len(days)} test "
                f"days unusable (at most {MAX_MASKED_FRACTION:.0%} may be masked); extend the {kind} or "
                "shorten the test period",
                timestamps=[str(d) for d in bad[:5]],
            )
        logger.warning(
            "%d of %d test days masked (%s or load history missing): %s", len(bad), len(days), kind, shown
        )
    return good, bad


def run_backtest(
    cfg: ForecastConfig,
    load: xr.Dataset,
    weather: xr.Dataset,
    *,
    train_end: pd.Timestamp | dt.date | str,
    test_end: pd.Timestamp | dt.date | str,
    weather_forecast: xr.Dataset | None = None,
    retrain_every_days: int = 0,
    progress: bool = True,
    strict: bool = False,
) -> BacktestResult:
    """Day-ahead backtest over the local days ``train_end <= D < test_end``.

    Parameters
    ----------
    cfg:
        Forecaster configuration (model, issue lead, quantiles, training).
    train_end, test_end:
        First test day and the day after the last one (local dates).
    weather_forecast:
        ``(issue_time, time, station)`` forecasts; without them observed weather is used
        (ex-post, reported as ``weather="observed"``).
    retrain_every_days:
        Retrain on all data before each block of this many days; 0 = train once.
    strict:
        A test day without the inputs its forecast needs (weather or weather forecast for it and
        the day before, load history before its issue time) fails the backtest. Otherwise such
        days are masked (listed in a warning and in ``metrics["masked_days"]``) and the rest run.
        Either way this is checked before any training.

    Raises
    ------
    GridAIDataError
        Empty test period, a test period reaching past the load data, no usable test day, or
        (``strict``) an unusable test day.
    """
    first, stop = pd.Timestamp(train_end).date(), pd.Timestamp(test_end).date()
    days = day_range(first, stop)
    if not days:
        raise GridAIDataError(f"empty test period: train_end {first} must be before test_end {stop}")
    times = pd.DatetimeIndex(load["time"].values)
    if pd.Timestamp(days[-1]) > times[-1] or pd.Timestamp(first) <= times[0]:
        raise GridAIDataError(
            f"test period {first} .. {stop} is outside the load data, which covers {times[0]} .. {times[-1]}",
            timestamps=[str(first), str(stop)],
        )
    days, masked = usable_days(cfg, load, weather, days, weather_forecast=weather_forecast, strict=strict)
    run_cfg = cfg.model_copy(update={"progress_bar": progress and cfg.progress_bar})
    block = retrain_every_days if retrain_every_days > 0 else len(days)
    per_method: dict[str, list[DayForecasts]] = {}
    forecasters: list[Forecaster] = []
    train_seconds = 0.0
    for b in range(0, len(days), block):
        block_days = days[b : b + block]
        model = make_forecaster(run_cfg)
        t0 = time.perf_counter()
        start_utc = pd.Timestamp(block_days[0])
        if model.cfg.timezone or load.attrs.get("source_tz", "UTC") != "UTC":
            tz = model.cfg.timezone or str(load.attrs.get("source_tz"))
            start_utc = start_utc.tz_localize(tz).tz_convert("UTC").tz_localize(None)
        model.fit(load, weather, end=start_utc)
        train_seconds += time.perf_counter() - t0
        logger.info(
            "block %s .. %s: trained in %.1f s", block_days[0], block_days[-1], time.perf_counter() - t0
        )
        for name, fc in model.predict_days_methods(
            load, weather, block_days, weather_forecast=weather_forecast
        ).items():
            per_method.setdefault(name, []).append(fc)
        forecasters.append(model)
    h = forecasters[-1].hierarchy
    assert h is not None
    chosen = str(forecasters[-1].info.get("reconciliation"))
    merged = {name: _concat(parts) for name, parts in per_method.items()}
    fc = merged[chosen]
    actual = _actuals(load, h, fc.times)
    scores = _scores(fc, actual)
    recon = {
        name: {
            "system": _scores(m, actual)[h.root],
            "mean_series_mape": float(np.nanmean([s["mape"] for s in _scores(m, actual).values()])),
        }
        for name, m in merged.items()
    }
    metrics: dict[str, Any] = {
        "series": {n: s for n, s in scores.items() if n != h.root},
        "system": scores[h.root],
        "model": cfg.model,
        "issue_lead_hours": cfg.issue_lead_hours,
        "weather": fc.weather,
        "reconciliation": {"chosen": chosen, "methods": recon},
        "test_start": first.isoformat(),
        "test_end": stop.isoformat(),
        "n_days": len(days),
        "masked_days": [d.isoformat() for d in masked],
        "retrain_every_days": retrain_every_days,
        "train_seconds": train_seconds,
    }
    logger.info(
        "backtest %s: system MAPE %.2f %%, accuracy %.2f %%, coverage80 %.2f",
        cfg.model,
        scores[h.root]["mape"],
        scores[h.root]["accuracy"],
        scores[h.root]["coverage80"],
    )
    return BacktestResult(
        forecasts=_frame(fc, actual),
        metrics=metrics,
        quantiles=list(cfg.quantiles),
        root=h.root,
        units=forecasters[-1].units,
        forecasters=forecasters,
    )
