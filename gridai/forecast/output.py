"""The forecast output format consumed by dispatch and the day-ahead job, and its writers.

``xarray.Dataset`` with

* ``load_forecast`` ``(time, series, quantile)`` [units of the input, attr ``units``]: every
  leaf series and every aggregate node (at least the root, ``system``); the median is
  coherent (each aggregate equals the sum of its leaves) and quantiles are non-crossing;
* ``load_mean`` ``(time, series)``: the coherent predictive mean;
* coordinates ``time`` (naive-UTC interval starts), ``series`` (with ``parent``), ``quantile``
  (floats);
* attrs ``model``, ``issue_time`` (ISO), ``target_day``, ``issue_lead_hours``, ``weather``
  (``"forecast"`` or ``"observed"``), ``units``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from gridai.forecast.base import DayForecasts
from gridai.outputs import atomic_dir


def to_dataset(
    fc: DayForecasts,
    i: int,
    *,
    model: str,
    issue_lead_hours: float,
    units: str,
    parents: dict[str, str],
) -> xr.Dataset:
    """The output dataset of day ``i`` of ``fc``."""
    ds = xr.Dataset(
        {
            "load_forecast": (("time", "series", "quantile"), fc.quantiles[i]),
            "load_mean": (("time", "series"), fc.mean[i]),
        },
        coords={
            "time": fc.times[i].astype("datetime64[ns]"),
            "series": np.array(fc.nodes, dtype=object),
            "quantile": np.array(fc.quantile_levels, dtype=np.float64),
        },
        attrs={
            "model": model,
            "issue_time": pd.Timestamp(fc.issue_times[i]).isoformat(),
            "target_day": fc.days[i].isoformat(),
            "issue_lead_hours": float(issue_lead_hours),
            "weather": fc.weather,
            "units": units,
        },
    )
    ds = ds.assign_coords(parent=("series", np.array([parents.get(n, "") for n in fc.nodes], dtype=object)))
    ds["load_forecast"].attrs["units"] = units
    ds["load_mean"].attrs["units"] = units
    return ds


def forecast_to_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Long form of a forecast: columns ``time, series, quantile, load_forecast``."""
    frame = ds["load_forecast"].to_dataframe().reset_index()
    return frame[["time", "series", "quantile", "load_forecast"]]


def write_forecast(ds: xr.Dataset, directory: Path | str) -> Path:
    """Write ``forecast.nc`` and ``forecasts.csv`` into ``directory`` atomically.

    Both files are written to a hidden staging directory in ``directory`` and moved in with
    ``os.replace`` (:func:`gridai.outputs.atomic_dir`, ``merge=True``); a failure leaves no
    half-written file.
    """
    directory = Path(directory)
    with atomic_dir(directory, merge=True) as tmp:
        out = ds.copy()
        out = out.assign_coords(series=out["series"].astype(str), parent=out["parent"].astype(str))
        out.to_netcdf(tmp / "forecast.nc", engine="h5netcdf")
        forecast_to_frame(ds).to_csv(tmp / "forecasts.csv", index=False)
    return directory
