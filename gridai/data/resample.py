"""Energy-correct resampling between resolutions (e.g. 15 min <-> hourly).

Load values are mean power over their interval (labelled by the interval start). Then

* **aggregating** (15 min -> 1 h) takes the mean power of the ``k`` sub-intervals, so that the
  energy ``sum(p_i * dt_fine) = p_coarse * dt_coarse`` is preserved; a coarse interval with any
  missing sub-interval (NaN value or absent timestamp) is NaN rather than a biased mean;
* **disaggregating** (1 h -> 15 min, or daily -> hourly) repeats the value: power is taken as
  constant within the coarse interval, which again preserves energy exactly. The result records
  the coarse step in ``attrs["disaggregated_from"]``, so that the quality checks do not take the
  constant power within each coarse interval for a flatline (a day disaggregated to hours is a
  24 h constant run by construction; flagged, cleaning would blank every value).

Temperatures are averaged/repeated the same way. A boolean variable (``imputed``) becomes
"any sub-interval imputed" when aggregating and is repeated when disaggregating.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from gridai.exceptions import GridAIDataError


def _step(alias: str) -> pd.Timedelta:
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(alias))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise GridAIDataError(
            f"unknown resolution {alias!r}; use a pandas offset alias like '15min' or '1h'"
        ) from None
    if step <= pd.Timedelta(0):
        raise GridAIDataError(f"resolution must be positive, got {alias!r}")
    return step


def _alias(step: pd.Timedelta) -> str:
    minutes = int(step / pd.Timedelta(minutes=1))
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}min"


def _source_step(ds: xr.Dataset) -> pd.Timedelta:
    if "resolution" in ds.attrs:
        return _step(str(ds.attrs["resolution"]))
    time = pd.DatetimeIndex(ds["time"].values)
    if len(time) < 2:
        raise GridAIDataError("cannot infer the resolution of a dataset with fewer than two timestamps")
    return pd.Timedelta(pd.Series(time[1:] - time[:-1]).mode().iloc[0])


def _aggregate(ds: xr.Dataset, src: pd.Timedelta, dst: pd.Timedelta) -> xr.Dataset:
    time = pd.DatetimeIndex(ds["time"].values)
    if not time.is_monotonic_increasing or time.has_duplicates:
        raise GridAIDataError("resampling needs strictly increasing timestamps")
    k = int(dst / src)
    bins = time.floor(dst)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    counts = np.diff(np.r_[starts, len(time)])
    complete = counts == k
    new_time = bins[starts]
    out = xr.Dataset(attrs=dict(ds.attrs))
    for name, var in ds.data_vars.items():
        if "time" not in var.dims:
            out[name] = var
            continue
        dims = ("time", *[d for d in var.dims if d != "time"])
        arr = var.transpose(*dims).values
        shape = (-1,) + (1,) * (arr.ndim - 1)
        if arr.dtype == bool:
            agg = np.logical_or.reduceat(arr, starts, axis=0)
        elif arr.dtype.kind in "iuf":
            sums = np.add.reduceat(arr.astype("float64"), starts, axis=0)
            agg = np.where(complete.reshape(shape), sums / k, np.nan)
        else:
            raise GridAIDataError(f"cannot resample variable {name!r} of dtype {arr.dtype}")
        out[name] = xr.DataArray(agg, dims=dims, attrs=dict(var.attrs)).transpose(*var.dims)
    coords = {str(c): ds.coords[c] for c in ds.coords if "time" not in ds.coords[c].dims}
    coords["time"] = xr.DataArray(new_time.values.astype("datetime64[ns]"), dims="time")
    return out.assign_coords(coords)


def _disaggregate(ds: xr.Dataset, src: pd.Timedelta, dst: pd.Timedelta) -> xr.Dataset:
    k = int(src / dst)
    time = pd.DatetimeIndex(ds["time"].values)
    offsets = np.arange(k) * dst.to_timedelta64()
    new_time = (time.values[:, None] + offsets[None, :]).ravel()
    out = xr.Dataset(attrs=dict(ds.attrs))
    for name, var in ds.data_vars.items():
        if "time" not in var.dims:
            out[name] = var
            continue
        axis = var.dims.index("time")
        out[name] = xr.DataArray(np.repeat(var.values, k, axis=axis), dims=var.dims, attrs=dict(var.attrs))
    coords = {str(c): ds.coords[c] for c in ds.coords if "time" not in ds.coords[c].dims}
    coords["time"] = xr.DataArray(new_time.astype("datetime64[ns]"), dims="time")
    return out.assign_coords(coords)


def resample(ds: xr.Dataset, resolution: str) -> xr.Dataset:
    """Resample every variable with a ``time`` dimension to ``resolution``, energy-correctly.

    Parameters
    ----------
    ds:
        Canonical load or weather dataset (interval-start labels, attr ``resolution``).
    resolution:
        Target step as a pandas offset alias (``"15min"``, ``"1h"``); it must be a whole multiple
        or a whole divisor of the dataset's resolution.

    Returns
    -------
    xr.Dataset
        Same variables, coordinates and attributes, with ``attrs["resolution"]`` updated.
        Aggregated intervals with any missing sub-interval are NaN.
    """
    src = _source_step(ds)
    dst = _step(resolution)
    if dst == src:
        out = ds.copy()
    elif dst > src:
        if dst % src != pd.Timedelta(0):
            raise GridAIDataError(f"cannot aggregate {_alias(src)} to {resolution}: not a whole multiple")
        out = _aggregate(ds, src, dst)
    else:
        if src % dst != pd.Timedelta(0):
            raise GridAIDataError(f"cannot split {_alias(src)} into {resolution}: not a whole divisor")
        out = _disaggregate(ds, src, dst)
    out.attrs["resolution"] = _alias(dst)
    # the step over which the values are constant by construction (repeated when disaggregating)
    held = ds.attrs.get("disaggregated_from")
    coarse = max(src, _step(str(held))) if held is not None else (src if dst < src else None)
    if coarse is not None and dst < coarse:
        out.attrs["disaggregated_from"] = _alias(coarse)
    else:
        out.attrs.pop("disaggregated_from", None)
    return out
