"""Check a dispatch config against a forecast and resolve both into arrays, before any model is built.

Forecast -> feeder mapping (documented contract):

* A feeder without a network is a single bus whose load is the forecast series itself [kW].
* A feeder with a network keeps the *shape* of the forecast and the *size* of the network:
  every nominal bus load (net of static generators) is scaled per interval by
  ``peak_loading * forecast[t] / max(median forecast)``, so the forecast's median peak lands at
  ``peak_loading`` x the network's nominal load. A GEFCom zone of 20 MW drives case33bw's 3.7 MW.

Inconsistent inputs raise :class:`GridAIDataError` / :class:`GridAIConfigError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.dispatch.assets import EvArrays, FlexArrays, PvArrays
from gridai.dispatch.config import DispatchConfig, FeederConfig
from gridai.dispatch.scenarios import copula_paths, scenario_paths, select_levels
from gridai.dispatch.storage import BatteryArrays
from gridai.exceptions import GridAIConfigError, GridAIDataError
from gridai.forecast.quantiles import median_of, median_path
from gridai.grid.lindistflow import RadialFeeder, orient_radial

if TYPE_CHECKING:  # pandapower takes seconds to import: only when a feeder has a network
    import pandapower as pp

FORECAST_VAR = "load_forecast"


@dataclass
class FeederInputs:
    name: str
    cfg: FeederConfig
    net: pp.pandapowerNet | None
    radial: RadialFeeder | None
    load_scale: np.ndarray | None  # (S, T) multiplier of nominal bus loads (network feeders)
    v_slack_pu: float = 1.0


@dataclass
class DispatchInputs:
    """Everything numeric a dispatch model needs (units in the names)."""

    times: pd.DatetimeIndex
    dt_h: float
    day_of_t: np.ndarray
    weights: np.ndarray  # (S,)
    levels: list[float]
    feeders: list[FeederInputs]
    load_kw: np.ndarray  # (S, F, T)
    price_per_kwh: np.ndarray
    carbon_kg_per_kwh: np.ndarray
    batteries: BatteryArrays
    pv: PvArrays
    ev: EvArrays
    shift: FlexArrays
    curtail: FlexArrays
    vpp_target_kw: np.ndarray | None

    @property
    def n_t(self) -> int:
        return len(self.times)


def check_forecast(forecast: xr.Dataset, series: list[str]) -> xr.DataArray:
    """The ``load_forecast`` variable for ``series``, checked for shape, NaN and a regular time axis."""
    if FORECAST_VAR not in forecast:
        raise GridAIDataError(f"forecast has no variable {FORECAST_VAR!r} (has {list(forecast.data_vars)})")
    da = forecast[FORECAST_VAR]
    need = {"time", "series", "quantile"}
    if set(da.dims) != need:
        raise GridAIDataError(f"forecast {FORECAST_VAR} must have dims {sorted(need)}, has {list(da.dims)}")
    have = [str(s) for s in da["series"].values]
    missing = [s for s in series if s not in have]
    if missing:
        raise GridAIDataError(f"feeder series missing from the forecast (it has {have[:20]})", series=missing)
    da = da.sel(series=series).transpose("series", "time", "quantile")
    vals = np.asarray(da.values, dtype=float)
    bad = ~np.isfinite(vals)
    if bad.any():
        s_bad = [series[i] for i in np.flatnonzero(bad.any(axis=(1, 2)))]
        t_bad = pd.DatetimeIndex(da["time"].values)[bad.any(axis=(0, 2))]
        raise GridAIDataError("forecast holds NaN/inf values", series=s_bad, timestamps=list(t_bad))
    times = pd.DatetimeIndex(da["time"].values)
    if len(times) < 2:
        raise GridAIDataError("forecast needs at least two intervals")
    step = np.diff(times.asi8)
    if (step != step[0]).any() or step[0] <= 0:
        irregular = times[1:][step != step[0]]
        raise GridAIDataError("forecast time axis is not regular and increasing", timestamps=list(irregular))
    return da


def _local_hours(times: pd.DatetimeIndex, tz: str) -> tuple[np.ndarray, np.ndarray]:
    t = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
    try:
        loc = t.tz_convert(tz)
    except Exception as err:  # noqa: BLE001 - pytz/zoneinfo raise different types
        raise GridAIConfigError(f"unknown timezone {tz!r}: {err}", key="timezone") from None
    hours = np.asarray(loc.hour + loc.minute / 60.0, dtype=float)
    dates = pd.Index(loc.date)
    day = pd.factorize(dates)[0]
    return hours, np.asarray(day, dtype=np.int64)


def window_mask(hours: np.ndarray, start_h: float, end_h: float) -> np.ndarray:
    """Intervals whose local start hour lies in ``[start, end)`` (wrapping midnight if end <= start)."""
    if end_h > start_h:
        return (hours >= start_h) & (hours < end_h)
    return (hours >= start_h) | (hours < end_h)


def _runs(mask: np.ndarray) -> np.ndarray:
    """Number each run of consecutive True values (-1 elsewhere)."""
    ids = np.full(len(mask), -1, dtype=np.int64)
    starts = mask & ~np.concatenate([[False], mask[:-1]])
    ids[mask] = np.cumsum(starts)[mask] - 1
    return ids


def _window_energy(ids: np.ndarray, energy_kwh: float, full_len: float) -> np.ndarray:
    """Energy per run, pro rata where the horizon cuts a window."""
    n = int(ids.max()) + 1 if (ids >= 0).any() else 0
    lengths = np.bincount(ids[ids >= 0], minlength=n).astype(float)
    return energy_kwh * np.minimum(lengths / max(full_len, 1e-9), 1.0)


def resolve_batteries(
    cfg: DispatchConfig,
    mean_load_kw: np.ndarray,
    peak_load_kw: np.ndarray,
    farthest_bus: Sequence[int | None],
) -> BatteryArrays:
    """The model builder's battery arrays, one row per battery of ``cfg.feeders`` in order.

    Each :class:`~gridai.dispatch.config.BatteryConfig` is resolved against its feeder
    (:meth:`~gridai.dispatch.config.BatteryConfig.resolve`); SoC fractions become kWh
    (``soc_*_kwh = soc_*_frac * energy_kwh``), a missing terminal target NaN, a missing ramp NaN.

    Parameters
    ----------
    mean_load_kw, peak_load_kw:
        Mean and peak forecast load of each feeder [kW], shape ``(F,)``.
    farthest_bus:
        Each feeder's bus farthest from the source (None: not needed or no network).
    """
    rows = [
        (f, b.resolve(mean_load_kw=float(mean_load_kw[f]), peak_load_kw=float(peak_load_kw[f]),
                      farthest_bus=farthest_bus[f]))
        for f, fc in enumerate(cfg.feeders)
        for b in fc.batteries
    ]  # fmt: skip
    p = np.array([b.power_kw for _, b in rows], dtype=float).reshape(-1)
    e = np.array([b.energy_kwh for _, b in rows], dtype=float).reshape(-1)
    for i, (_, b) in enumerate(rows):
        if not (np.isfinite(p[i]) and p[i] > 0 and np.isfinite(e[i]) and e[i] > 0):
            raise GridAIConfigError(f"battery {b.name}: power {p[i]} kW / energy {e[i]} kWh must be positive")

    def col(attr: str) -> np.ndarray:
        return np.array([getattr(b, attr) for _, b in rows], dtype=float).reshape(-1)

    term = np.array(
        [np.nan if b.soc_terminal_frac is None else b.soc_terminal_frac for _, b in rows]
    ).reshape(-1)
    return BatteryArrays(
        name=[b.name for _, b in rows],
        feeder=np.array([f for f, _ in rows], dtype=np.int64),
        bus=[None if b.bus == "farthest" else b.bus for _, b in rows],
        charge_kw=p,
        discharge_kw=p.copy(),
        energy_kwh=e,
        eta_charge=col("eta_charge"),
        eta_discharge=col("eta_discharge"),
        standing_loss_per_h=col("standing_loss_per_h"),
        soc_min_kwh=col("soc_min_frac") * e,
        soc_max_kwh=col("soc_max_frac") * e,
        soc_initial_kwh=col("soc_initial_frac") * e,
        soc_terminal_kwh=term * e,
        cyclic=np.array([b.cyclic for _, b in rows], dtype=bool).reshape(-1),
        degradation_cost_per_kwh=col("degradation_cost_per_kwh"),
        ramp_kw_per_h=np.array(
            [np.nan if b.ramp_kw_per_h is None else b.ramp_kw_per_h for _, b in rows]
        ).reshape(-1),
        no_simultaneous=np.array([b.no_simultaneous for _, b in rows], dtype=bool).reshape(-1),
    )


def _sampled_load(
    cfg: DispatchConfig, values: np.ndarray, q_levels: np.ndarray, series: list[str]
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Copula-sampled load ``(S, F, T)``, weights and levels (NaN: a sample has no quantile level)."""
    sc = cfg.scenarios
    _, cols = select_levels(q_levels, sc.quantiles, ", ".join(series))
    load, weights = copula_paths(
        values[:, :, cols], q_levels[cols], sc.n_scenarios, rho=sc.rho, seed=sc.seed, tails=sc.tails
    )
    return load, weights, [float("nan")] * sc.n_scenarios


def prepare_inputs(
    cfg: DispatchConfig,
    forecast: xr.Dataset,
    feeders: list[str] | None = None,
    nets: Mapping[str, pp.pandapowerNet] | None = None,
    mode: str | None = None,
) -> DispatchInputs:
    """Validate and resolve ``cfg`` + ``forecast`` for the given feeders (default: all configured)."""
    fcs = [cfg.feeder(n) for n in (feeders or [f.name for f in cfg.feeders])]
    mode = mode or cfg.mode
    if mode not in ("deterministic", "scenario"):
        raise GridAIConfigError(f"mode must be 'deterministic' or 'scenario', got {mode!r}", key="mode")
    da = check_forecast(forecast, [f.series_name for f in fcs])
    times = pd.DatetimeIndex(da["time"].values)
    dt_h = float((times[1] - times[0]) / pd.Timedelta(hours=1))
    hours, day = _local_hours(times, cfg.timezone)
    n_t = len(times)

    values = np.asarray(da.values, dtype=float)  # (series, time, quantile)
    q_levels = np.asarray(da["quantile"].values, dtype=float)
    sampled = mode == "scenario" and cfg.scenarios.method == "copula"
    if sampled:
        load, weights, levels = _sampled_load(cfg, values, q_levels, [f.series_name for f in fcs])
    else:
        per_feeder = [
            scenario_paths(values[i], q_levels, cfg.scenarios.quantiles, mode, fc.series_name)
            for i, fc in enumerate(fcs)
        ]
        load = np.stack([p for p, _, _ in per_feeder], axis=1)  # (S, F, T) in forecast units
        _, weights, levels = per_feeder[-1]  # the same for every feeder
    feeder_inputs: list[FeederInputs] = []
    farthest: list[int | None] = [None] * len(fcs)
    for i, fc in enumerate(fcs):
        if fc.network is None:
            feeder_inputs.append(FeederInputs(fc.name, fc, None, None, None))
            continue
        from gridai.grid.topology import farthest_bus, feeder_arrays, load_network

        net = (nets or {}).get(fc.name) or load_network(fc.network.network)
        arrays = feeder_arrays(net, name=fc.network.network)
        if any(b.bus == "farthest" for b in fc.batteries):
            farthest[i] = farthest_bus(arrays)
        rf = orient_radial(arrays)
        nominal_kw = 1000.0 * float(arrays.p_load_mw[rf.buses].sum())
        peak = float(median_of(values[i], q_levels).max())
        if peak <= 0 or nominal_kw <= 0:
            raise GridAIDataError(
                f"feeder {fc.name}: forecast peak {peak} or network load {nominal_kw} kW not positive",
                series=fc.series_name,
            )
        scale = fc.network.peak_loading * load[:, i, :] / peak
        load[:, i, :] = scale * nominal_kw
        v_slack = fc.network.v_slack_pu or float(net.ext_grid["vm_pu"].iloc[0])
        feeder_inputs.append(FeederInputs(fc.name, fc, net, rf, scale, v_slack))
    # the load path battery sizes refer to (F, T): the samples' average, or the median path
    if sampled:  # equal-weight samples
        ref_path = np.tensordot(weights, load, axes=1)
    else:
        ref_path = load[int(np.argmax(weights))] if mode == "scenario" else load[0]
    mean_load = ref_path.mean(axis=1)

    t = cfg.tariff
    price = np.where(
        window_mask(hours, t.peak_start_h, t.peak_end_h), t.peak_price_per_kwh, t.base_price_per_kwh
    )

    def assets(kind: str) -> list[tuple[int, Any]]:
        return [(f, a) for f, fc in enumerate(fcs) for a in getattr(fc, kind)]

    pv_rows = assets("pv")
    profiles = []
    for _f, a in pv_rows:
        if a.profile_series is not None:
            prof = median_path(check_forecast(forecast, [a.profile_series]).isel(series=0))
        else:
            span = max(a.sunset_h - a.sunrise_h, 1e-6)
            mid = hours + dt_h / 2
            prof = a.peak_kw * np.clip(np.sin(np.pi * (mid - a.sunrise_h) / span), 0, None)
            prof = np.where((mid > a.sunrise_h) & (mid < a.sunset_h), prof, 0.0)
        profiles.append(np.clip(prof, 0, None))
    pv = PvArrays(
        [a.name for _, a in pv_rows],
        np.array([f for f, _ in pv_rows], dtype=np.int64),
        [a.bus for _, a in pv_rows],
        np.array(profiles).reshape(len(pv_rows), n_t),
        np.array([a.curtailment_cost_per_kwh for _, a in pv_rows], dtype=float),
    )
    ev_rows = assets("ev_fleets")
    avail, sess, energy = [], [], []
    for _, a in ev_rows:
        mask = window_mask(hours, a.arrive_h, a.depart_h)
        ids = _runs(mask)
        full = ((a.depart_h - a.arrive_h) % 24 or 24) / dt_h
        avail.append(mask)
        sess.append(ids)
        energy.append(_window_energy(ids, a.energy_kwh, full))
    ev = EvArrays(
        [a.name for _, a in ev_rows],
        np.array([f for f, _ in ev_rows], dtype=np.int64),
        [a.bus for _, a in ev_rows],
        np.array([a.max_power_kw for _, a in ev_rows], dtype=float),
        np.array([a.efficiency for _, a in ev_rows], dtype=float),
        np.array(avail, dtype=bool).reshape(len(ev_rows), n_t),
        np.array(sess, dtype=np.int64).reshape(len(ev_rows), n_t),
        energy,
    )
    flex = assets("flex_loads")
    shift_rows = [(f, a) for f, a in flex if a.kind == "shiftable"]
    curt_rows = [(f, a) for f, a in flex if a.kind == "curtailable"]
    win, wid, wen = [], [], []
    for _, a in shift_rows:
        mask = window_mask(hours, a.window_start_h, a.window_end_h)
        ids = _runs(mask)
        win.append(mask)
        wid.append(ids)
        wen.append(_window_energy(ids, a.energy_kwh, ((a.window_end_h - a.window_start_h) % 24 or 24) / dt_h))

    def flex_arrays(rows: list[tuple[int, Any]], w: list, i: list, e: list) -> FlexArrays:
        n = len(rows)
        return FlexArrays(
            [a.name for _, a in rows],
            np.array([f for f, _ in rows], dtype=np.int64),
            [a.bus for _, a in rows],
            np.array([a.max_power_kw for _, a in rows], dtype=float),
            np.array(w, dtype=bool).reshape(n, n_t) if w else np.ones((n, n_t), dtype=bool),
            np.array(i, dtype=np.int64).reshape(n, n_t) if i else np.full((n, n_t), -1, dtype=np.int64),
            e,
            np.array([a.price_per_kwh for _, a in rows], dtype=float),
        )

    target = None
    if cfg.vpp.target_kw is not None:
        target = np.asarray(cfg.vpp.target_kw, dtype=float)
        if len(target) != n_t or not np.isfinite(target).all():
            raise GridAIConfigError(
                f"vpp.target_kw must hold {n_t} finite values (one per forecast interval), has {len(target)}",
                key="vpp.target_kw",
            )
    return DispatchInputs(
        times=times,
        dt_h=dt_h,
        day_of_t=day if t.demand_charge_period == "day" else np.zeros(n_t, dtype=np.int64),
        weights=np.asarray(weights, dtype=float),
        levels=list(levels),
        feeders=feeder_inputs,
        load_kw=load,
        price_per_kwh=price.astype(float),
        carbon_kg_per_kwh=np.full(n_t, t.carbon_kg_per_kwh),
        batteries=resolve_batteries(
            cfg.model_copy(update={"feeders": fcs}), mean_load, ref_path.max(axis=1), farthest
        ),
        pv=pv,
        ev=ev,
        shift=flex_arrays(shift_rows, win, wid, wen),
        curtail=flex_arrays(curt_rows, [], [], []),
        vpp_target_kw=target,
    )
