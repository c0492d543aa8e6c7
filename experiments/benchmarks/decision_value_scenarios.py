"""Sampled load scenarios with hour-to-hour dependence, planned with gridai's dispatch builders.

gridai's scenario mode (``gridai.dispatch.scenarios.scenario_paths``) turns each quantile level
into one whole-day path (comonotone: the 0.9 path is the 0.9 quantile at every hour). Where the
quantile spread is nearly constant over the day these paths are the median shifted by a
constant, and a constant shift does not change the best battery schedule (import and peak
both shift by the same amount whatever the battery does), so scenario dispatch then equals
median dispatch. What a demand charge is exposed to is the *shape* of the day: at which hour
the peak comes.

This exploratory variant draws ``S`` paths from a Gaussian copula: per zone, normal scores
``z[s, t]`` follow an AR(1) over the hours, ``z[t] = rho z[t-1] + sqrt(1 - rho^2) e[t]``
(``rho`` fixed a priori at 0.9, not tuned on the test days), mapped through each hour's
forecast quantile function, linear in the normal score between the forecast levels and
extrapolated linearly beyond 0.1 / 0.9. Paths have equal weights 1/S.

The plan reuses gridai's ``prepare_inputs`` (battery and tariff arrays), ``build_model``
(storage, grid, peak and cost builders) and ``solve_model`` (HiGHS fast path); only the
scenario load paths and weights are replaced, because ``scenario_paths`` sorts every interval
and so cannot carry sampled, non-comonotone paths.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.special import ndtri

RHO = 0.9  # hour-to-hour correlation of the normal scores (fixed a priori)
N_SAMPLES = 30
SEED = 2008


def normal_score_quantile(values: np.ndarray, levels: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Evaluate quantile functions at normal scores ``z``.

    ``values`` ``(..., T, K)`` forecast quantiles at ``levels`` ``(K,)``; ``z`` ``(S, ..., T)``.
    Linear in the normal score ``ndtri(level)`` between levels, linear extrapolation beyond.
    """
    zk = ndtri(np.asarray(levels, dtype=float))
    k = np.clip(np.searchsorted(zk, z) - 1, 0, len(zk) - 2)
    lo = np.take_along_axis(np.broadcast_to(values, z.shape + values.shape[-1:]), k[..., None], -1)[..., 0]
    hi = np.take_along_axis(np.broadcast_to(values, z.shape + values.shape[-1:]), k[..., None] + 1, -1)[
        ..., 0
    ]
    w = (z - zk[k]) / (zk[k + 1] - zk[k])
    return lo + w * (hi - lo)


def ar1_scores(rng: np.random.Generator, shape: tuple[int, ...], rho: float = RHO) -> np.ndarray:
    """Standard-normal scores ``shape = (..., T)`` with correlation ``rho ** |i - j|`` along the last axis."""
    e = rng.standard_normal(shape)
    z = np.empty(shape)
    z[..., 0] = e[..., 0]
    for t in range(1, shape[-1]):
        z[..., t] = rho * z[..., t - 1] + np.sqrt(1 - rho**2) * e[..., t]
    return z


def sample_paths(forecast: xr.DataArray, zones: list[str], seed: int) -> np.ndarray:
    """``N_SAMPLES`` load paths ``(S, zone, T)`` [kW] of one day's ``(time, series, quantile)`` forecast."""
    da = forecast.sel(series=zones).transpose("series", "time", "quantile")
    vals = np.asarray(da.values, dtype=float)  # (F, T, K)
    z = ar1_scores(np.random.default_rng(seed), (N_SAMPLES, *vals.shape[:2]))
    return np.maximum(normal_score_quantile(vals, da["quantile"].values, z), 0.0)


def plan_day_paths(cfg: Any, forecast: xr.DataArray, seed: int) -> tuple[np.ndarray, float]:
    """Battery schedules ``(zone, T)`` [kW] planned on sampled paths; and the expected planned cost [$]."""
    from gridai.dispatch.inputs import prepare_inputs
    from gridai.dispatch.model import build_model
    from gridai.dispatch.solve import solve_model

    zones = [f.name for f in cfg.feeders]
    paths = sample_paths(forecast, zones, seed)
    data = prepare_inputs(cfg, xr.Dataset({"load_forecast": forecast}), zones, mode="deterministic")
    data.load_kw = paths
    data.weights = np.full(len(paths), 1.0 / len(paths))
    data.levels = [float(s) for s in range(len(paths))]
    dm = build_model(cfg, data, name="decision_value_copula")
    res = solve_model(dm.lm, cfg.solve, build_s=dm.build_s)
    if not res.ok:
        raise RuntimeError(f"copula scenario dispatch failed: {res.status} {res.message}")
    p = dm.lm.value(dm.battery.dis) - dm.lm.value(dm.battery.ch)  # (battery = zone, T)
    return np.asarray(p, dtype=float), float(res.objective)
