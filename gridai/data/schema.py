"""The canonical xarray data model shared by every part of gridai.

Load
    ``xarray.Dataset`` with variable ``load`` of dims ``(time, series)``.
    ``time`` is naive UTC ``datetime64[ns]`` labelling the **start** of each interval;
    attrs hold ``source_tz`` (time zone of the source timestamps), ``interval``
    (always ``"start"`` after reading), ``source_interval`` (``"start"``/``"end"``, as read),
    ``units`` (``"kW"`` or ``"MW"``) and ``resolution`` (pandas offset alias, e.g. ``"1h"``).
    The coordinate ``parent`` on ``series`` maps each series to its parent node
    (e.g. feeder -> substation -> system); the root is named by attr ``root`` (default
    ``"system"``). Only leaf series hold data; aggregates are derived (:func:`system_total`).
    An optional boolean variable ``imputed`` ``(time, series)`` flags values filled by cleaning.

Weather observations
    ``xarray.Dataset`` with variable ``temperature`` ``(time, station)`` in degrees Celsius
    (attr ``units="degC"``); further variables of the same dims may be present.

Weather forecasts
    As observations with a leading ``issue_time`` dimension: ``(issue_time, time, station)``.
    A process issuing at time ``t`` may use only ``issue_time <= t`` (:func:`weather_known_at`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from gridai.exceptions import GridAIDataError

ROOT = "system"
LOAD_UNITS = ("kW", "MW")
INTERVALS = ("start", "end")


def make_load_dataset(
    values: np.ndarray,
    time: pd.DatetimeIndex | Sequence[np.datetime64],
    series: Sequence[str],
    *,
    units: str = "kW",
    source_tz: str = "UTC",
    source_interval: str = "start",
    resolution: str | None = None,
    parents: Mapping[str, str] | None = None,
    root: str = ROOT,
) -> xr.Dataset:
    """Build a canonical load dataset from a ``(time, series)`` array.

    Parameters
    ----------
    values:
        Load [``units``], shape ``(len(time), len(series))``.
    time:
        Naive UTC interval-start timestamps, strictly increasing.
    series:
        Series names (meters, feeders, zones).
    parents:
        Parent of each series; series not named get ``root``.
    """
    idx = pd.DatetimeIndex(np.asarray(time))
    if idx.tz is not None:
        raise GridAIDataError("canonical time must be naive UTC; got a tz-aware index")
    if units not in LOAD_UNITS:
        raise GridAIDataError(f"units must be one of {LOAD_UNITS}, got {units!r}")
    if source_interval not in INTERVALS:
        raise GridAIDataError(f"interval must be one of {INTERVALS}, got {source_interval!r}")
    arr = np.asarray(values, dtype="float64")
    if arr.shape != (len(idx), len(series)):
        raise GridAIDataError(
            f"values shape {arr.shape} does not match (time={len(idx)}, series={len(series)})"
        )
    parents = dict(parents or {})
    parent = np.array([parents.get(s, root) for s in series], dtype=object)
    if resolution is None:
        resolution = infer_resolution(idx)
    ds = xr.Dataset(
        {"load": (("time", "series"), arr)},
        coords={"time": idx.values.astype("datetime64[ns]"), "series": np.array(series, dtype=object)},
        attrs={
            "units": units,
            "source_tz": source_tz,
            "interval": "start",
            "source_interval": source_interval,
            "resolution": resolution,
            "root": root,
        },
    )
    ds = ds.assign_coords(parent=("series", parent))
    ds["load"].attrs["units"] = units
    return ds


def make_weather_dataset(
    temperature_c: np.ndarray,
    time: pd.DatetimeIndex | Sequence[np.datetime64],
    stations: Sequence[str],
    *,
    source_tz: str = "UTC",
    source_interval: str = "start",
    resolution: str | None = None,
) -> xr.Dataset:
    """Build a canonical weather-observation dataset; ``temperature_c`` is ``(time, station)`` [degC]."""
    idx = pd.DatetimeIndex(np.asarray(time))
    arr = np.asarray(temperature_c, dtype="float64")
    if arr.shape != (len(idx), len(stations)):
        raise GridAIDataError(
            f"temperature shape {arr.shape} does not match (time={len(idx)}, station={len(stations)})"
        )
    ds = xr.Dataset(
        {"temperature": (("time", "station"), arr)},
        coords={"time": idx.values.astype("datetime64[ns]"), "station": np.array(stations, dtype=object)},
        attrs={
            "source_tz": source_tz,
            "interval": "start",
            "source_interval": source_interval,
            "resolution": resolution or infer_resolution(idx),
        },
    )
    ds["temperature"].attrs["units"] = "degC"
    return ds


def infer_resolution(time: pd.DatetimeIndex) -> str:
    """Most common step of ``time`` as a pandas offset alias (``"1h"``, ``"15min"``)."""
    if len(time) < 2:
        return "1h"
    step = pd.Series(time[1:] - time[:-1]).mode().iloc[0]
    minutes = int(step / pd.Timedelta(minutes=1))
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}min"


def leaf_series(ds: xr.Dataset) -> list[str]:
    """Series that are nobody's parent (they carry data)."""
    series = [str(s) for s in ds["series"].values]
    parents = {str(p) for p in ds["parent"].values} if "parent" in ds.coords else set()
    return [s for s in series if s not in parents]


def hierarchy_levels(ds: xr.Dataset) -> dict[str, list[str]]:
    """Map every aggregate node (including the root) to the leaf series below it."""
    parent = dict(zip(map(str, ds["series"].values), map(str, ds["parent"].values), strict=True))
    root = str(ds.attrs.get("root", ROOT))
    nodes: dict[str, list[str]] = {root: []}
    for leaf in leaf_series(ds):
        node = parent.get(leaf, root)
        seen = {leaf}
        while True:
            nodes.setdefault(node, []).append(leaf)
            if node == root or node in seen:
                break
            seen.add(node)
            node = parent.get(node, root)
    return nodes


def summing_matrix(ds: xr.Dataset) -> tuple[np.ndarray, list[str], list[str]]:
    """Summing matrix ``S`` with ``all_nodes = S @ leaves``.

    Returns ``(S, node_names, leaf_names)``; rows are ``[aggregates..., leaves...]``.
    """
    leaves = leaf_series(ds)
    levels = hierarchy_levels(ds)
    aggs = [n for n in levels if n not in leaves]
    names = aggs + leaves
    s = np.zeros((len(names), len(leaves)))
    col = {leaf: j for j, leaf in enumerate(leaves)}
    for i, node in enumerate(aggs):
        for leaf in levels[node]:
            s[i, col[leaf]] = 1.0
    for k in range(len(leaves)):
        s[len(aggs) + k, k] = 1.0
    return s, names, leaves


def system_total(ds: xr.Dataset) -> xr.DataArray:
    """System load (sum of leaf series) ``(time,)``; NaN where any leaf is NaN."""
    leaves = leaf_series(ds)
    return ds["load"].sel(series=leaves).sum("series", skipna=False).rename("system")


def weather_known_at(forecasts: xr.Dataset, issue_time: np.datetime64 | pd.Timestamp) -> xr.Dataset:
    """Latest weather forecast issued at or before ``issue_time`` (dims ``(time, station)``).

    Raises
    ------
    GridAIDataError
        No forecast was issued at or before ``issue_time``.
    """
    t = np.datetime64(pd.Timestamp(issue_time).to_datetime64())
    known = forecasts.sel(issue_time=forecasts["issue_time"] <= t)
    if known.sizes["issue_time"] == 0:
        raise GridAIDataError(
            "no weather forecast was issued at or before the issue time", timestamps=[str(pd.Timestamp(t))]
        )
    return known.isel(issue_time=-1)
