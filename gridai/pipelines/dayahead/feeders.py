"""Feeders of the day-ahead job: which network each feeder is, which load series drives it.

A feeder is a pandapower network (``case33bw``, ``cigre_mv``, a JSON file ...) whose bus
loads follow one forecast series (a GEFCom2012 zone, a substation meter). The feeder demand
is the series scaled to the feeder's size::

    p_feeder(t, q) [kW] = series(t, q) / reference_kw * peak_kw * (1 + noise(t))

``reference_kw`` is the series' peak over the recent history, ``peak_kw`` the feeder's peak
demand (default: the network's nominal load), ``noise`` an optional deterministic
multiplicative perturbation (synthetic feeders). One positive factor per interval keeps the
quantiles ordered.

:func:`synthetic_feeders` builds any number of feeders from the zones for scale tests:
profiles scaled and noised per feeder, one generated battery each.

Batteries are :class:`gridai.dispatch.config.BatteryConfig`, the dispatch engine's own type;
:func:`default_battery` is the one a feeder gets when it lists none.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import Field

from gridai.config import StrictModel
from gridai.dispatch.config import BatteryConfig

logger = logging.getLogger(__name__)


#: Feeders are planned with headroom: by default the historical peak of the driving series maps to
#: 80 % of the network's nominal load (case33bw at 100 % already sags to 0.913 pu).
DEFAULT_PEAK_FRACTION = 0.8


def default_battery(name: str = "bess_1", **sizes: float) -> BatteryConfig:
    """The battery a day-ahead feeder gets when its config lists none.

    At the bus farthest from the source, 20 % of the feeder's peak (median) demand for 4 h,
    a SoC window of 10-95 %, 92 % one-way efficiency, starting half full and ending at least
    half full. ``sizes`` replace the relative sizes, e.g. ``power_kw=..., energy_kwh=...``
    (synthetic feeders).
    """
    size: dict[str, float | None] = {"power_frac_of_peak_load": 0.2, "duration_h": 4.0}
    if "power_kw" in sizes or "power_frac_of_mean_load" in sizes:
        size["power_frac_of_peak_load"] = None
    if "energy_kwh" in sizes:
        size["duration_h"] = None
    return BatteryConfig(
        name=name,
        bus="farthest",
        eta_charge=0.92,
        eta_discharge=0.92,
        soc_min_frac=0.1,
        soc_max_frac=0.95,
        soc_initial_frac=0.5,
        soc_terminal_frac=0.5,
        cyclic=False,
        **{**size, **sizes},
    )


class FeederSpec(StrictModel):
    """One feeder: its network, the series its load follows and its batteries."""

    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Unique feeder name.")
    series: str = Field(..., description="Forecast series the feeder load follows (e.g. 'zone_1').")
    network: str = Field(
        "case33bw", description="Built-in network name, SimBench code or pandapower JSON path."
    )
    peak_kw: float | None = Field(
        None,
        gt=0,
        description="Feeder peak demand [kW] the series' historical peak is scaled to; None = peak_fraction "
        "of the network's nominal load.",
    )
    peak_fraction: float = Field(
        DEFAULT_PEAK_FRACTION,
        gt=0,
        le=2,
        description="Feeder peak as a fraction of the network's nominal load when peak_kw is None (0.8: "
        "planned with headroom; case33bw at 1.0 already sags to 0.913 pu).",
    )
    noise: float = Field(
        0.0, ge=0, le=0.5, description="Std of a deterministic multiplicative noise on the profile."
    )
    batteries: list[BatteryConfig] = Field(
        default_factory=lambda: [default_battery()],
        description="Batteries on the feeder (gridai.dispatch.config.BatteryConfig, the dispatch's own type); "
        "none listed: default_battery() (20 % of the feeder's peak for 4 h at the farthest bus).",
    )


#: Largest synthetic feeder set: 20,000 feeders is twice the scale benchmark's largest run;
#: 100,000 had no bound and exhausted memory before the first feeder was dispatched.
MAX_SYNTHETIC_FEEDERS = 20_000


class SyntheticFeeders(StrictModel):
    """Feeders generated from the zones (scale tests and benchmarks)."""

    count: int = Field(
        ...,
        ge=1,
        le=MAX_SYNTHETIC_FEEDERS,
        description=f"Number of feeders (at most {MAX_SYNTHETIC_FEEDERS:,}).",
    )
    networks: list[str] = Field(default_factory=lambda: ["case33bw"], description="Networks, used in turn.")
    scale_min: float = Field(
        0.4, gt=0, description="Smallest peak as a fraction of the network's nominal load."
    )
    scale_max: float = Field(
        0.9, gt=0, description="Largest peak as a fraction of the network's nominal load."
    )
    noise: float = Field(0.03, ge=0, le=0.5, description="Profile noise std per feeder.")
    seed: int = Field(0, description="Seed of scales, noise and battery sizes.")


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "little")


def synthetic_feeders(
    cfg: SyntheticFeeders, series: Sequence[str], nominal_kw: dict[str, float]
) -> list[FeederSpec]:
    """``cfg.count`` feeders cycling over ``series`` and ``cfg.networks`` (deterministic in ``cfg.seed``).

    Parameters
    ----------
    series:
        Series to draw profiles from (zones).
    nominal_kw:
        Nominal load of each network [kW] (sum of its loads' ``p_mw``).
    """
    rng = np.random.default_rng(cfg.seed)
    out = []
    width = len(str(cfg.count))
    for i in range(cfg.count):
        net = cfg.networks[i % len(cfg.networks)]
        peak = float(rng.uniform(cfg.scale_min, cfg.scale_max)) * nominal_kw[net]
        hours = float(rng.choice([2.0, 3.0, 4.0]))
        power = round(peak * float(rng.uniform(0.1, 0.3)), 1)
        out.append(
            FeederSpec(
                name=f"feeder_{i:0{width}d}",
                series=series[i % len(series)],
                network=net,
                peak_kw=round(peak, 1),
                noise=cfg.noise,
                batteries=[default_battery(power_kw=power, energy_kwh=round(power * hours, 1))],
            )
        )
    return out


def feeder_demand(
    series_kw: pd.DataFrame,
    reference_kw: float,
    spec: FeederSpec,
    nominal_kw: float,
) -> pd.DataFrame:
    """Feeder demand [kW] per interval (rows) and quantile (columns) from its series' forecast.

    Parameters
    ----------
    series_kw:
        Forecast of the driving series [kW], index time, columns quantile levels.
    reference_kw:
        Peak of the series over the recent history [kW] (maps the series to the feeder's size).
    nominal_kw:
        The network's nominal load [kW] (``spec.peak_fraction`` of it is the default ``peak_kw``).
    """
    peak = spec.peak_kw if spec.peak_kw is not None else spec.peak_fraction * nominal_kw
    factor = np.full(len(series_kw), peak / reference_kw if reference_kw > 0 else 0.0)
    if spec.noise > 0:
        day = pd.Timestamp(series_kw.index[0]).strftime("%Y-%m-%d") if len(series_kw) else ""
        rng = np.random.default_rng(_seed(spec.name, day))
        factor *= np.clip(1.0 + rng.normal(0.0, spec.noise, len(series_kw)), 0.5, 1.5)
    return series_kw.mul(factor, axis=0)


def nominal_load_kw(net: object) -> float:
    """Sum of the network's in-service loads [kW]."""
    load = net.load  # type: ignore[attr-defined]
    return float((load["p_mw"] * load["scaling"] * load["in_service"]).sum()) * 1000.0
