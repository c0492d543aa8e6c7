"""Typed configuration of a dispatch job (feeders, assets, tariff, network, scenarios, solver).

Units are in the names: ``*_kw`` [kW], ``*_kwh`` [kWh], ``*_frac`` [0..1], ``*_per_kwh``
[currency/kWh], ``*_h`` [hours of the local day in ``DispatchConfig.timezone``].
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gridai.config import StrictModel
from gridai.exceptions import GridAIConfigError
from gridai.optim.solve import SolveOptions


class BatteryConfig(StrictModel):
    """A battery: placement, size, efficiencies, SoC window, end-of-horizon rule, costs.

    The one battery type of gridai, from a job's config (``configs/dayahead.yaml``,
    ``configs/dispatch/*.yaml``) down to the model builder (:mod:`gridai.dispatch.inputs` turns a
    list of them into :class:`~gridai.dispatch.storage.BatteryArrays`). Sizes may be given relative
    to the feeder (``power_frac_of_mean_load``, ``power_frac_of_peak_load``, ``duration_h``) and the
    bus as ``'farthest'``; :meth:`resolve` turns them into kW, kWh and a bus index.
    """

    name: str = Field(min_length=1, description="Asset name, unique in the job.")
    bus: int | Literal["farthest"] | None = Field(
        default=None,
        description="pandapower bus index of the connection; 'farthest': the bus electrically farthest from "
        "the source (largest series resistance, gridai.grid.topology.farthest_bus); None: the feeder head.",
    )
    power_kw: float | None = Field(default=None, gt=0, description="Charge and discharge power limit [kW].")
    power_frac_of_mean_load: float | None = Field(
        default=None,
        gt=0,
        description="Power limit as a fraction of the feeder's mean forecast load (instead of power_kw).",
    )
    power_frac_of_peak_load: float | None = Field(
        default=None,
        gt=0,
        description="Power limit as a fraction of the feeder's peak median forecast load, rounded to 0.1 kW "
        "(instead of power_kw).",
    )
    energy_kwh: float | None = Field(default=None, gt=0, description="Usable energy capacity [kWh].")
    duration_h: float | None = Field(
        default=None, gt=0, description="Capacity as hours at full power (instead of energy_kwh)."
    )
    eta_charge: float = Field(default=0.95, gt=0, le=1, description="Charge efficiency [-].")
    eta_discharge: float = Field(default=0.95, gt=0, le=1, description="Discharge efficiency [-].")
    standing_loss_per_h: float = Field(
        default=0.0, ge=0, lt=1, description="Self-discharge, fraction of SoC per hour."
    )
    soc_min_frac: float = Field(default=0.0, ge=0, le=1, description="Lowest SoC as a fraction of capacity.")
    soc_max_frac: float = Field(default=1.0, ge=0, le=1, description="Highest SoC as a fraction of capacity.")
    soc_initial_frac: float = Field(default=0.5, ge=0, le=1, description="SoC before the first interval.")
    soc_terminal_frac: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="SoC required at the end (at least); None with cyclic=false: free.",
    )
    cyclic: bool = Field(
        default=True, description="End SoC equals the initial SoC (ignored when soc_terminal_frac is set)."
    )
    degradation_cost_per_kwh: float = Field(
        default=0.0, ge=0, description="Cost per kWh of throughput (charge + discharge)."
    )
    ramp_kw_per_h: float | None = Field(
        default=None, gt=0, description="Limit on the change of net power [kW per hour]."
    )
    no_simultaneous: bool = Field(
        default=False, description="Forbid charging and discharging at once (binary; MILP)."
    )

    @model_validator(mode="after")
    def _check(self) -> BatteryConfig:
        power = (self.power_kw, self.power_frac_of_mean_load, self.power_frac_of_peak_load)
        if sum(v is not None for v in power) != 1:
            raise ValueError(
                f"battery {self.name}: give exactly one of power_kw, power_frac_of_mean_load, power_frac_of_peak_load"
            )
        if (self.energy_kwh is None) == (self.duration_h is None):
            raise ValueError(f"battery {self.name}: give exactly one of energy_kwh, duration_h")
        if self.soc_min_frac > self.soc_max_frac:
            raise ValueError(
                f"battery {self.name}: soc_min_frac {self.soc_min_frac} > soc_max_frac {self.soc_max_frac} (inverted)"
            )
        return self

    def resolve(self, *, mean_load_kw: float, peak_load_kw: float, farthest_bus: int | None) -> BatteryConfig:
        """This battery with ``power_kw``, ``energy_kwh`` and ``bus`` in absolute terms.

        ``power = power_kw``, or ``power_frac_of_mean_load * mean_load_kw``, or
        ``round(power_frac_of_peak_load * peak_load_kw, 1)`` [kW]; ``energy = energy_kwh`` or
        ``duration_h * power`` [kWh]; bus ``'farthest'`` becomes ``farthest_bus`` (None on a feeder
        without a network: its one bus). Not validated again: a non-positive size (a feeder without
        load) is left for :func:`gridai.dispatch.inputs.resolve_batteries` to report.

        Parameters
        ----------
        mean_load_kw, peak_load_kw:
            The feeder's mean and peak (median) forecast load [kW].
        farthest_bus:
            pandapower index of the feeder's bus farthest from the source.
        """
        if self.power_kw is not None:
            power = self.power_kw
        elif self.power_frac_of_mean_load is not None:
            power = self.power_frac_of_mean_load * mean_load_kw
        else:
            power = round(float(self.power_frac_of_peak_load or 0.0) * peak_load_kw, 1)
        energy = self.energy_kwh if self.energy_kwh is not None else float(self.duration_h or 0.0) * power
        return self.model_copy(
            update={
                "bus": farthest_bus if self.bus == "farthest" else self.bus,
                "power_kw": power,
                "power_frac_of_mean_load": None,
                "power_frac_of_peak_load": None,
                "energy_kwh": energy,
                "duration_h": None,
            }
        )

    @property
    def soc_initial_kwh(self) -> float:
        """State of charge before the first interval [kWh] (a resolved battery, see :meth:`resolve`)."""
        return self.soc_initial_frac * self._energy()

    @property
    def soc_min_kwh(self) -> float:
        """Lowest state of charge [kWh] (a resolved battery)."""
        return self.soc_min_frac * self._energy()

    def _energy(self) -> float:
        if self.energy_kwh is None:
            raise GridAIConfigError(f"battery {self.name}: energy_kwh not resolved (call resolve() first)")
        return self.energy_kwh


class PvConfig(StrictModel):
    """A PV plant with a clear-sky-shaped profile (or a forecast series) and curtailment."""

    name: str
    bus: int | None = Field(default=None, description="pandapower bus index (None: feeder head).")
    peak_kw: float = Field(gt=0, description="Peak output of the profile [kW].")
    profile_series: str | None = Field(
        default=None, description="Forecast series holding the PV profile [kW] (median used)."
    )
    sunrise_h: float = Field(
        default=6.0, ge=0, le=24, description="Local sunrise of the synthetic profile [h]."
    )
    sunset_h: float = Field(
        default=18.0, ge=0, le=24, description="Local sunset of the synthetic profile [h]."
    )
    curtailment_cost_per_kwh: float = Field(default=0.0, ge=0, description="Cost of each curtailed kWh.")


class EvFleetConfig(StrictModel):
    """An EV fleet charging in a daily window with an energy need by departure."""

    name: str
    bus: int | None = None
    max_power_kw: float = Field(gt=0, description="Aggregate charging power limit [kW].")
    arrive_h: float = Field(ge=0, lt=24, description="Local arrival hour (window start).")
    depart_h: float = Field(ge=0, lt=24, description="Local departure hour (window end; may wrap midnight).")
    energy_kwh: float = Field(ge=0, description="Energy needed per session by departure [kWh].")
    efficiency: float = Field(default=0.92, gt=0, le=1, description="Charger efficiency [-].")


class FlexLoadConfig(StrictModel):
    """A flexible load: shiftable energy in a window, or curtailable with a price."""

    name: str
    bus: int | None = None
    kind: Literal["shiftable", "curtailable"]
    max_power_kw: float = Field(
        gt=0, description="Shiftable: power limit; curtailable: most curtailment [kW]."
    )
    energy_kwh: float = Field(default=0.0, ge=0, description="Shiftable: energy per daily window [kWh].")
    window_start_h: float = Field(default=0.0, ge=0, lt=24, description="Shiftable: local window start [h].")
    window_end_h: float = Field(
        default=0.0, ge=0, lt=24, description="Shiftable: local window end [h] (wraps if <= start)."
    )
    price_per_kwh: float = Field(default=0.0, ge=0, description="Curtailable: payment per curtailed kWh.")


class NetworkConfig(StrictModel):
    """The feeder network, LinDistFlow limits and the AC check."""

    network: str = Field(
        description="Built-in name (case33bw, cigre_mv, mv_oberrhein), SimBench code or JSON path."
    )
    peak_loading: float = Field(
        default=1.0,
        gt=0,
        description="Forecast -> network mapping: the network's nominal bus loads are scaled each interval by "
        "peak_loading * forecast(t) / max(forecast), so the feeder's forecast peak lands at peak_loading x nominal.",
    )
    v_min_pu: float = Field(default=0.95, gt=0, description="Lowest bus voltage [pu].")
    v_max_pu: float = Field(default=1.05, gt=0, description="Highest bus voltage [pu].")
    v_margin_pu: float = Field(
        default=0.01,
        ge=0,
        description="LinDistFlow overestimates voltage (~0.007 pu at 150 % load on case33bw): tighten v_min.",
    )
    v_slack_pu: float | None = Field(
        default=None, gt=0, description="Source voltage [pu] (None: the ext_grid set-point)."
    )
    thermal_limits: bool = Field(
        default=True, description="Enforce line/trafo ratings (inscribed octagon of the MVA circle)."
    )
    ac_check_intervals: int = Field(
        default=4, ge=0, description="AC power flows on the N most loaded intervals (0: none)."
    )

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        if self.v_min_pu + self.v_margin_pu >= self.v_max_pu:
            raise ValueError(f"v_min_pu + v_margin_pu ({self.v_min_pu + self.v_margin_pu}) >= v_max_pu")
        return self


class FeederConfig(StrictModel):
    """One feeder: which forecast series it is, its network and its assets."""

    name: str
    series: str | None = Field(
        default=None, description="Forecast series of the feeder's load (default: name)."
    )
    network: NetworkConfig | None = Field(
        default=None, description="Feeder network; None: a single-bus feeder."
    )
    import_limit_kw: float | None = Field(
        default=None, gt=0, description="Most power drawn from the grid [kW]."
    )
    allow_export: bool = Field(
        default=False, description="Allow reverse flow to the grid (paid export_price_per_kwh)."
    )
    batteries: list[BatteryConfig] = Field(default_factory=list)
    pv: list[PvConfig] = Field(default_factory=list)
    ev_fleets: list[EvFleetConfig] = Field(default_factory=list)
    flex_loads: list[FlexLoadConfig] = Field(default_factory=list)

    @property
    def series_name(self) -> str:
        return self.series or self.name


class TariffConfig(StrictModel):
    """Prices: time-of-use energy, export, demand charge, carbon."""

    base_price_per_kwh: float = Field(default=0.08, description="Off-peak energy price.")
    peak_price_per_kwh: float = Field(default=0.20, description="On-peak energy price.")
    peak_start_h: float = Field(
        default=13.0, ge=0, le=24, description="Local start of the on-peak window [h]."
    )
    peak_end_h: float = Field(default=20.0, ge=0, le=24, description="Local end of the on-peak window [h].")
    export_price_per_kwh: float = Field(default=0.0, description="Price paid for exported energy.")
    demand_charge_per_kw: float = Field(default=0.0, ge=0, description="Charge per kW of the highest import.")
    demand_charge_period: Literal["day", "horizon"] = Field(
        default="day", description="Peak measured per local day or horizon."
    )
    carbon_kg_per_kwh: float = Field(
        default=0.4, ge=0, description="Grid carbon intensity (constant) [kg/kWh]."
    )
    carbon_price_per_kg: float = Field(default=0.0, ge=0, description="Emissions cost [currency/kg].")


class ObjectiveWeights(StrictModel):
    """Weights of the combinable objective terms (1 = face value, 0 = off)."""

    energy: float = Field(default=1.0, ge=0)
    peak: float = Field(default=1.0, ge=0)
    degradation: float = Field(default=1.0, ge=0)
    emissions: float = Field(default=1.0, ge=0)
    tracking: float = Field(default=1.0, ge=0)
    curtailment: float = Field(default=1.0, ge=0)


class VppConfig(StrictModel):
    """The aggregate of all flexible assets: target tracking and the flexibility envelope."""

    target_kw: list[float] | None = Field(
        default=None,
        description="Aggregate injection target per interval [kW] (positive = export to the grid).",
    )
    tracking_penalty_per_kwh: float = Field(
        default=1.0, ge=0, description="Penalty per kWh of deviation from the target."
    )
    envelope: bool = Field(
        default=False, description="Compute min/max feasible aggregate power per interval (2 LPs per step)."
    )


class ScenarioConfig(StrictModel):
    """Scenario dispatch from quantile forecasts: sampled paths (copula) or one path per quantile."""

    method: Literal["copula", "quantile_paths"] = Field(
        default="copula",
        description="copula: n_scenarios paths sampled from the quantiles with a Gaussian copula whose normal "
        "scores are AR(1) over intervals (peak-timing uncertainty), equal weights; quantile_paths: each quantile "
        "level a whole-horizon path (sorted per interval), midpoint-rule weights.",
    )
    quantiles: list[float] | None = Field(
        default=None,
        description="Forecast quantile levels used (None: all in the forecast): quantile_paths' scenarios, "
        "copula's interpolation points.",
    )
    n_scenarios: int = Field(default=30, ge=1, description="copula: sampled paths per series.")
    rho: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="copula: correlation of the normal scores of neighbouring intervals (rho ** lag).",
    )
    seed: int = Field(default=0, ge=0, description="copula: seed of numpy.random.default_rng.")
    tails: Literal["linear", "flat"] = Field(
        default="linear",
        description="copula: inverse CDF beyond the outer quantiles, linear in the normal score or held flat.",
    )


class DispatchConfig(StrictModel):
    """A dispatch job: feeders with assets, tariff, objective, VPP, scenarios, solver options."""

    feeders: list[FeederConfig] = Field(min_length=1)
    timezone: str = Field(default="UTC", description="Time zone of every *_h hour in the config.")
    tariff: TariffConfig = Field(default_factory=TariffConfig)
    weights: ObjectiveWeights = Field(default_factory=ObjectiveWeights)
    vpp: VppConfig = Field(default_factory=VppConfig)
    scenarios: ScenarioConfig = Field(default_factory=ScenarioConfig)
    mode: Literal["deterministic", "scenario"] = Field(
        default="deterministic", description="Median or scenario dispatch."
    )
    solve: SolveOptions = Field(default_factory=SolveOptions)

    @model_validator(mode="after")
    def _unique(self) -> DispatchConfig:
        names = [f.name for f in self.feeders]
        if len(set(names)) != len(names):
            raise ValueError(f"feeder names must be unique: {names}")
        assets: list[str] = []
        for f in self.feeders:
            assets += [a.name for a in f.batteries] + [a.name for a in f.pv]
            assets += [a.name for a in f.ev_fleets] + [a.name for a in f.flex_loads]
        dup = sorted({a for a in assets if assets.count(a) > 1})
        if dup:
            raise ValueError(f"asset names must be unique across feeders: {dup}")
        return self

    def feeder(self, name: str) -> FeederConfig:
        for f in self.feeders:
            if f.name == name:
                return f
        raise GridAIConfigError(f"feeder {name!r} is not configured (have {[f.name for f in self.feeders]})")
