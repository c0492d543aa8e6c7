"""Loads at restoration time from a gridai forecast.

Rule: every load (P and Q) of the network is scaled by
``forecast(series, t, median) / max_t forecast(series, t, median)`` — the network's
nameplate loads are taken as the peak of the forecast window, and at time ``t`` they are
expected at that fraction of it. ``series`` is ``"system"`` unless named (a zone/feeder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandapower as pp
import pandas as pd
import xarray as xr

from gridai.exceptions import GridAIDataError
from gridai.forecast.quantiles import MEDIAN, quantile_da


def forecast_load_factor(forecast: str | Path, at: str | pd.Timestamp, series: str = "system") -> float:
    """Scale factor of the network loads at ``at`` from ``forecast`` (a directory with
    ``forecast.nc`` or the file itself), per the module's rule [-]."""
    p = Path(forecast)
    path = p / "forecast.nc" if p.is_dir() else p
    if not path.is_file():
        raise GridAIDataError(
            f"forecast {path} does not exist; expected a directory holding forecast.nc", file=str(path)
        )
    with xr.open_dataset(path) as ds:
        if "load_forecast" not in ds:
            raise GridAIDataError(
                "forecast has no variable 'load_forecast' (time, series, quantile) [kW]", file=str(path)
            )
        da = ds["load_forecast"].load()
    if series not in da["series"].values.tolist():
        raise GridAIDataError(
            f"series {series!r} is not in the forecast; it has {da['series'].values.tolist()[:10]}",
            file=str(path),
            series=series,
        )
    median = quantile_da(da.sel(series=series), MEDIAN)
    t = pd.Timestamp(at)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    times = pd.DatetimeIndex(median["time"].values)
    times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    if t < times.min() or t > times.max():
        raise GridAIDataError(
            f"--at {t.isoformat()} is outside the forecast window {times.min().isoformat()} .. {times.max().isoformat()}",
            file=str(path),
            timestamps=[t],
        )
    i = int(np.abs((times - t).total_seconds()).argmin())
    peak = float(median.max())
    if not np.isfinite(peak) or peak <= 0:
        raise GridAIDataError(
            f"forecast series {series!r} has no positive values", file=str(path), series=series
        )
    value = float(median.values[i])
    if not np.isfinite(value) or value < 0:
        raise GridAIDataError(
            f"forecast of {series!r} at {times[i]} is {value}", file=str(path), series=series
        )
    return value / peak


def scale_loads(net: pp.pandapowerNet, factor: float) -> None:
    """Multiply every load's scaling by ``factor`` (in place)."""
    if len(net.load):
        net.load["scaling"] = net.load["scaling"] * factor
