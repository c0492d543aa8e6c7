"""Factories for dispatch tests and examples: forecasts in the gridai format, small configs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.config import parse_config
from gridai.dispatch.config import DispatchConfig


def make_forecast(
    load_kw: np.ndarray | Sequence[float] | dict[str, np.ndarray],
    *,
    start: str = "2008-01-01",
    freq: str = "15min",
    quantiles: Sequence[float] = (0.5,),
    spread: float = 0.2,
) -> xr.Dataset:
    """A ``load_forecast`` dataset ``(time, series, quantile)`` [kW] around median paths.

    Quantile ``q`` of a series is ``median * (1 + spread * (q - 0.5))``.
    """
    series = load_kw if isinstance(load_kw, dict) else {"f1": np.asarray(load_kw, dtype=float)}
    names = list(series)
    n_t = len(next(iter(series.values())))
    q = np.asarray(quantiles, dtype=float)
    vals = np.stack(
        [
            np.stack([np.asarray(series[n], dtype=float) * (1 + spread * (qq - 0.5)) for qq in q], axis=-1)
            for n in names
        ],
        axis=1,
    )
    times = pd.date_range(start, periods=n_t, freq=freq)
    ds = xr.Dataset(
        {"load_forecast": (("time", "series", "quantile"), vals)},
        coords={"time": times, "series": names, "quantile": q},
    )
    ds["load_forecast"].attrs["units"] = "kW"
    return ds


def daily_profile_kw(n_t: int = 96, mean_kw: float = 1000.0, amplitude: float = 0.4) -> np.ndarray:
    """A smooth daily load shape with an evening peak [kW]."""
    h = np.arange(n_t) * 24.0 / n_t
    return mean_kw * (1 + amplitude * np.sin((h - 11.0) / 24.0 * 2 * np.pi))


def config(feeders: list[dict[str, Any]], **kw: Any) -> DispatchConfig:
    """A validated :class:`DispatchConfig` from plain dicts."""
    return parse_config(DispatchConfig, {"feeders": feeders, **kw})
