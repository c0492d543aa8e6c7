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
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import Field

from gridai.config import StrictModel

logger = logging.getLogger(__name__)


#: Feeders are planned with headroom: by default the historical peak of the driving series maps to
#: 80 % of the network's nominal load (case33bw at 100 % already sags to 0.913 pu).
DEFAULT_PEAK_FRACTION = 0.8


class BatterySpec(StrictModel):
    """One battery on a feeder."""

    name: str = Field(..., min_length=1, description="Asset name, unique on the feeder.")
    bus: int | None = Field(
        None, description="pandapower bus index; None = the bus electrically farthest from the source."
    )
    power_kw: float | None = Field(
        None, gt=0, description="Charge/discharge power limit [kW]; None = 20 % of peak."
    )
    energy_kwh: float | None = Field(None, gt=0, description="Energy capacity [kWh]; None = 4 h at power_kw.")
    soc_init: float = Field(0.5, ge=0, le=1, description="Initial state of charge [fraction of energy_kwh].")
    soc_min: float = Field(0.1, ge=0, le=1, description="Lowest state of charge [fraction].")
    soc_max: float = Field(0.95, ge=0, le=1, description="Highest state of charge [fraction].")
    soc_terminal: float | None = Field(
        None,
        ge=0,
        le=1,
        description="State of charge required at the end of day D [fraction]; None = cyclic.",
    )
    efficiency: float = Field(0.92, gt=0, le=1, description="One-way charge and discharge efficiency.")


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
        description="Feeder peak demand [kW]; None = DEFAULT_PEAK_FRACTION of the network's nominal load.",
    )
    noise: float = Field(
        0.0, ge=0, le=0.5, description="Std of a deterministic multiplicative noise on the profile."
    )
    batteries: list[BatterySpec] = Field(
        default_factory=lambda: [BatterySpec(name="bess_1")], description="Batteries on the feeder."
    )


class SyntheticFeeders(StrictModel):
    """Feeders generated from the zones (scale tests and benchmarks)."""

    count: int = Field(..., ge=1, description="Number of feeders.")
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
                batteries=[BatterySpec(name="bess_1", power_kw=power, energy_kwh=round(power * hours, 1))],
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
        The network's nominal load [kW] (``DEFAULT_PEAK_FRACTION`` of it is the default ``peak_kw``).
    """
    peak = spec.peak_kw if spec.peak_kw is not None else DEFAULT_PEAK_FRACTION * nominal_kw
    factor = np.full(len(series_kw), peak / reference_kw if reference_kw > 0 else 0.0)
    if spec.noise > 0:
        day = pd.Timestamp(series_kw.index[0]).strftime("%Y-%m-%d") if len(series_kw) else ""
        rng = np.random.default_rng(_seed(spec.name, day))
        factor *= np.clip(1.0 + rng.normal(0.0, spec.noise, len(series_kw)), 0.5, 1.5)
    return series_kw.mul(factor, axis=0)


def farthest_bus(net: object) -> int:
    """pandapower index of the bus with the largest series resistance from the source."""
    import networkx as nx

    from gridai.grid.topology import feeder_arrays

    arrays = feeder_arrays(net)  # type: ignore[arg-type]
    g = nx.Graph()
    g.add_nodes_from(range(arrays.n_bus))
    for k in np.flatnonzero(arrays.closed):
        g.add_edge(int(arrays.f[k]), int(arrays.t[k]), r=float(abs(arrays.r_pu[k])) + 1e-9)
    dist = nx.multi_source_dijkstra_path_length(g, [int(s) for s in arrays.slack], weight="r")
    pos = max(dist, key=lambda p: (dist[p], -p))
    return int(arrays.bus[pos])


def nominal_load_kw(net: object) -> float:
    """Sum of the network's in-service loads [kW]."""
    load = net.load  # type: ignore[attr-defined]
    return float((load["p_mw"] * load["scaling"] * load["in_service"]).sum()) * 1000.0
