"""A forecaster's view of the data: a regular time grid of every hierarchy node plus weather.

:class:`Panel` holds load for every node (aggregates derived from the leaves with the summing
matrix) and station temperatures on one regular naive-UTC grid; :class:`DayInputs` holds,
for a set of target days, everything a forecaster may know at their issue times: the index
of the first unobserved interval and the temperatures of the target day and the day before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.data.schema import ROOT, summing_matrix
from gridai.exceptions import GridAIDataError, GridAIModelError
from gridai.features.lags import first_unobserved_index
from gridai.features.weather import fill_stations

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hierarchy:
    """Nodes of a load hierarchy: ``all_nodes = s_matrix @ leaves``; rows ``[aggregates..., leaves...]``."""

    nodes: list[str]
    leaves: list[str]
    s_matrix: np.ndarray
    parents: dict[str, str]
    root: str

    @classmethod
    def from_dataset(cls, load: xr.Dataset) -> Hierarchy:
        """Hierarchy of a canonical load dataset (no ``parent`` coordinate: every series under the root)."""
        if "parent" not in load.coords:
            root = str(load.attrs.get("root", ROOT))
            load = load.assign_coords(
                parent=("series", np.array([root] * load.sizes["series"], dtype=object))
            )
        s, names, leaves = summing_matrix(load)
        root = str(load.attrs.get("root", ROOT))
        parents = {str(k): str(v) for k, v in zip(load["series"].values, load["parent"].values, strict=True)}
        parents = {n: parents.get(n, root) for n in names if n != root}
        return cls(nodes=names, leaves=leaves, s_matrix=s, parents=parents, root=root)

    def to_json(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "leaves": self.leaves, "parents": self.parents, "root": self.root}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hierarchy:
        nodes, leaves = list(data["nodes"]), list(data["leaves"])
        parents, root = dict(data["parents"]), str(data["root"])
        s = np.zeros((len(nodes), len(leaves)))
        for j, leaf in enumerate(leaves):
            node, seen = leaf, set()
            while node not in seen:
                seen.add(node)
                if node in nodes:
                    s[nodes.index(node), j] = 1.0
                if node == root:
                    break
                node = parents.get(node, root)
        return cls(nodes=nodes, leaves=leaves, s_matrix=s, parents=parents, root=root)


@dataclass
class Panel:
    """Load of every node and station temperatures on one regular naive-UTC grid."""

    times: pd.DatetimeIndex
    step: pd.Timedelta
    load: np.ndarray  # (time, node) [units]
    temp_c: np.ndarray  # (time, station) [degC]
    stations: list[str]
    hierarchy: Hierarchy
    tz: str
    units: str

    @property
    def steps_per_day(self) -> int:
        return int(pd.Timedelta(days=1) / self.step)

    def day_start(self, day: dt.date) -> pd.Timestamp:
        """Naive-UTC start of local ``day``."""
        local = pd.Timestamp(day).tz_localize(self.tz, ambiguous=False, nonexistent="shift_forward")
        return local.tz_convert("UTC").tz_localize(None)

    def index_of(self, t: pd.Timestamp) -> int:
        return int((t - self.times[0]) / self.step)


@dataclass
class DayInputs:
    """What is known at the issue time of each target day.

    Attributes
    ----------
    days:
        Target days (local dates).
    start_index:
        Grid index of each day's first interval, ``(n,)``.
    end_index:
        Grid index of the first interval not observed at the issue time, ``(n,)``.
    temp_day_c, temp_prev_c:
        Station temperatures of the target day and the previous day, ``(n, steps_per_day, station)``
        [degC], observed (ex-post) or as forecast at the issue time.
    """

    days: list[dt.date]
    start_index: np.ndarray
    end_index: np.ndarray
    temp_day_c: np.ndarray
    temp_prev_c: np.ndarray

    def subset(self, mask: np.ndarray) -> DayInputs:
        return DayInputs(
            days=[d for d, m in zip(self.days, mask, strict=True) if m],
            start_index=self.start_index[mask],
            end_index=self.end_index[mask],
            temp_day_c=self.temp_day_c[mask],
            temp_prev_c=self.temp_prev_c[mask],
        )


def build_panel(
    load: xr.Dataset,
    weather: xr.Dataset,
    hierarchy: Hierarchy,
    *,
    tz: str,
    end: pd.Timestamp | None = None,
    extend_to: pd.Timestamp | None = None,
) -> Panel:
    """Put ``load`` (leaves of ``hierarchy``) and ``weather`` on one regular grid.

    Parameters
    ----------
    end:
        Exclusive end: load and weather at or after it are dropped (training cut-off).
    extend_to:
        The grid is extended (with NaN load) up to this exclusive time, so that target days
        after the last load observation can be addressed.

    Raises
    ------
    GridAIModelError
        A series of the model is absent from ``load``.
    GridAIDataError
        ``weather`` has no ``temperature`` variable, or the data are empty.
    """
    present = {str(s) for s in load["series"].values}
    missing = [s for s in hierarchy.leaves if s not in present]
    if missing:
        raise GridAIModelError(
            f"series {missing[:10]} of the model are absent from the load data "
            f"(which has {sorted(present)[:10]}...)",
            series=missing,
        )
    if "temperature" not in weather:
        raise GridAIDataError("weather data has no 'temperature' variable (dims time, station) in degC")
    times = pd.DatetimeIndex(load["time"].values)
    if len(times) < 2:
        raise GridAIDataError("load data has fewer than two timestamps")
    step = pd.Timedelta(str(load.attrs.get("resolution", "1h")))
    stop = times[-1] + step
    if extend_to is not None:
        stop = max(stop, pd.Timestamp(extend_to))
    if end is not None:
        stop = min(stop, pd.Timestamp(end))
    grid = pd.date_range(times[0], stop - step, freq=step)
    leaves = load["load"].sel(series=hierarchy.leaves).transpose("time", "series")
    leaf_arr = leaves.reindex(time=grid).values.astype(np.float64)
    node_load = leaf_arr @ hierarchy.s_matrix.T  # NaN propagates: an aggregate is NaN if a leaf is
    temp = weather["temperature"].transpose("time", "station")
    wtimes = pd.DatetimeIndex(temp["time"].values)
    frame = pd.DataFrame(temp.values.astype(np.float64), index=wtimes)
    frame = frame[~frame.index.duplicated()].sort_index()
    wstep = pd.Series(wtimes[1:] - wtimes[:-1]).median() if len(wtimes) > 1 else step
    limit = max(int(wstep / step) - 1, 0)
    if limit > 0:
        temp_arr = frame.reindex(frame.index.union(grid)).ffill(limit=limit).reindex(grid).to_numpy()
    else:
        temp_arr = frame.reindex(grid).to_numpy()
    if end is not None:
        cut = grid >= pd.Timestamp(end)
        temp_arr[cut] = np.nan
        node_load[cut] = np.nan
    return Panel(
        times=grid,
        step=step,
        load=node_load,
        temp_c=temp_arr,
        stations=[str(s) for s in temp["station"].values],
        hierarchy=hierarchy,
        tz=tz,
        units=str(load.attrs.get("units", "kW")),
    )


def align_stations(panel: Panel, stations: list[str], model: str) -> Panel:
    """``panel`` with its stations in the order ``model`` was trained on (``stations``).

    A model's weather inputs are per station, by position: a renamed, missing or extra station
    would feed one station's temperature into another's weights without any error.

    Raises
    ------
    GridAIDataError
        A station the model was trained on is missing from the weather data.
    """
    if not stations or panel.stations == stations:
        return panel
    missing = [s for s in stations if s not in panel.stations]
    if missing:
        more = " ..." if len(panel.stations) > 10 else ""
        raise GridAIDataError(
            f"weather stations {missing} the model {model!r} was trained on are missing from the weather "
            f"data (which has {panel.stations[:10]}{more}); renamed stations must keep the names the model "
            "was trained with",
            series=missing,
        )
    order = [panel.stations.index(s) for s in stations]
    return dataclasses.replace(panel, temp_c=panel.temp_c[:, order], stations=list(stations))


def _forecast_temps(
    panel: Panel, weather_forecast: xr.Dataset, issue: pd.Timestamp, times: pd.DatetimeIndex
) -> np.ndarray:
    """Temperatures at ``times`` known at ``issue``.

    Observed temperature for intervals ended by ``issue``; otherwise the latest forecast issued
    at or before ``issue`` that covers the time (the newest issue first, then older ones).
    """
    t = np.datetime64(pd.Timestamp(issue).to_datetime64())
    known = weather_forecast.sel(issue_time=weather_forecast["issue_time"] <= t)
    if known.sizes["issue_time"] == 0:
        raise GridAIDataError(
            "no weather forecast was issued at or before the issue time", timestamps=[str(pd.Timestamp(t))]
        )
    temp = known.isel(issue_time=slice(-4, None))["temperature"].transpose("issue_time", "time", "station")
    if "station" in temp.coords:
        temp = temp.sel(station=panel.stations)
    cube = np.asarray(temp.reindex(time=times).values, dtype=np.float64)
    fc = cube[-1]
    for k in range(cube.shape[0] - 2, -1, -1):
        fc = np.where(np.isfinite(fc), fc, cube[k])
    idx = np.array([panel.index_of(t) for t in times])
    observed = (times + panel.step) <= issue
    obs = panel.temp_c[np.clip(idx, 0, len(panel.times) - 1)]
    return np.where(observed[:, None], obs, fc)


def make_day_inputs(
    panel: Panel,
    days: Sequence[dt.date],
    issue_lead_hours: float,
    *,
    weather_forecast: xr.Dataset | None = None,
    strict: bool = True,
) -> tuple[DayInputs, np.ndarray]:
    """Issue-time inputs of ``days``.

    Returns the inputs and a boolean mask of usable days. With ``strict`` an unusable day
    (outside the data, no load history before the issue time, weather missing) raises
    :class:`GridAIDataError` naming the day and what is missing; without it the day is masked.
    """
    days = list(days)
    spd = panel.steps_per_day
    n_all = len(panel.times)
    starts = pd.DatetimeIndex([panel.day_start(d) for d in days])
    issues = starts - pd.Timedelta(hours=issue_lead_hours)
    start_idx = np.asarray((starts - panel.times[0]) / panel.step).astype(np.int64)
    end_idx = first_unobserved_index(issues.values, panel.times[0], panel.step)
    ok = (start_idx - spd >= 0) & (start_idx + spd <= n_all) & (end_idx > spd)
    # some load observed in the week before each issue time (else the day is past the data)
    finite = np.isfinite(panel.load).any(axis=1).astype(np.int64)
    cum = np.concatenate([[0], np.cumsum(finite)])
    hi = np.clip(end_idx, 0, n_all)
    ok &= (cum[hi] - cum[np.clip(hi - 7 * spd, 0, n_all)]) > 0
    if strict and not ok.all():
        bad = [str(d) for d, g in zip(days, ok, strict=True) if not g]
        raise GridAIDataError(
            f"target day(s) outside the data: need load history before the issue time and a grid up to the "
            f"end of the day; data cover {panel.times[0]} .. {panel.times[-1] + panel.step} (UTC)",
            timestamps=bad,
        )
    safe_start = np.clip(start_idx, spd, n_all - spd)
    rng = np.arange(spd)
    if weather_forecast is None:
        t_day = panel.temp_c[safe_start[:, None] + rng]
        t_prev = panel.temp_c[safe_start[:, None] - spd + rng]
    else:
        t_day = np.empty((len(days), spd, len(panel.stations)))
        t_prev = np.empty_like(t_day)
        for i, (s, issue) in enumerate(zip(safe_start, issues, strict=True)):
            times = panel.times[s - spd : s + spd]
            try:
                both = _forecast_temps(panel, weather_forecast, issue, times)
            except GridAIDataError:
                if strict:
                    raise
                both = np.full((2 * spd, len(panel.stations)), np.nan)
            t_prev[i], t_day[i] = both[:spd], both[spd:]
    t_day, t_prev = fill_stations(t_day), fill_stations(t_prev)
    weather_ok = np.isfinite(t_day).all(axis=(1, 2)) & np.isfinite(t_prev).all(axis=(1, 2))
    if strict and not weather_ok.all():
        bad_days = [d for d, g in zip(days, weather_ok, strict=True) if not g]
        i = days.index(bad_days[0])
        missing = panel.times[safe_start[i] : safe_start[i] + spd][~np.isfinite(t_day[i]).all(axis=1)]
        kind = "weather forecast" if weather_forecast is not None else "observed weather"
        raise GridAIDataError(
            f"{kind} (temperature) missing for target day {bad_days[0]} and the day before "
            f"({len(bad_days)} day(s) affected); every interval of both days needs at least one station",
            timestamps=[str(t) for t in missing] or [str(bad_days[0])],
        )
    mask = ok & weather_ok
    inputs = DayInputs(list(days), safe_start, np.maximum(end_idx, 0), t_day, t_prev)
    return inputs, mask


def day_targets(panel: Panel, inputs: DayInputs) -> np.ndarray:
    """Load of every node over each target day, ``(n_days, steps_per_day, node)``."""
    rng = np.arange(panel.steps_per_day)
    return panel.load[inputs.start_index[:, None] + rng]


def day_range(start: dt.date, stop: dt.date) -> list[dt.date]:
    """Dates ``start <= d < stop``."""
    return [d.date() for d in pd.date_range(start, stop, freq="D", inclusive="left")]
