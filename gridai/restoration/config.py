"""Typed configuration of a restoration (FLISR) study.

Switch identifiers are pandapower switch indices. In networks whose lines are switchable
without switch objects (``case33bw``), the identifier of a line's switch is the line index.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from gridai.config import StrictModel

SwitchType = Literal["breaker", "remote", "manual"]


class SwitchTypeSpec(StrictModel):
    """Cost and duration of operating one switch of a given type."""

    operation_cost: float = Field(
        ge=0.0,
        description="Relative cost of one operation [-]; the MILP's secondary objective "
        "(fewest operations, cheap types first). Never outweighs restored load.",
    )
    operation_time_min: float = Field(
        ge=0.0, description="Time to operate the switch once, crew travel included [min]."
    )


def _default_types() -> dict[SwitchType, SwitchTypeSpec]:
    # Breakers and remote-controlled switches are operated from the control room in
    # seconds to a couple of minutes; a manual switch needs a crew on site (tens of minutes).
    return {
        "breaker": SwitchTypeSpec(operation_cost=1.0, operation_time_min=0.5),
        "remote": SwitchTypeSpec(operation_cost=1.0, operation_time_min=2.0),
        "manual": SwitchTypeSpec(operation_cost=5.0, operation_time_min=30.0),
    }


class RestorationConfig(StrictModel):
    """Limits, switch data, priorities and solver options of a restoration study."""

    v_min_pu: float = Field(
        0.90, gt=0.0, description="Lowest admissible bus voltage after restoration [pu] (emergency range)."
    )
    v_max_pu: float = Field(1.05, gt=0.0, description="Highest admissible bus voltage [pu].")
    voltage_margin_pu: float = Field(
        0.01,
        ge=0.0,
        lt=0.1,
        description="Margin kept inside the voltage limits in the MILP [pu]: LinDistFlow ignores "
        "losses and overestimates voltages.",
    )
    max_loading_percent: float = Field(
        100.0, gt=0.0, description="Highest admissible line/transformer loading [% of rating]."
    )
    default_rating_mva: float | None = Field(
        None,
        gt=0.0,
        description="Rating used for branches whose rating is missing or above 1000 MVA "
        "(case33bw's 99999 kA lines) [MVA]; None keeps them unlimited.",
    )
    default_switch_type: SwitchType = Field(
        "remote",
        description="Type of switches the network does not type: pandapower 'CB' switches are "
        "breakers, every other switch (and case33bw's switchable lines) gets this type.",
    )
    switch_types: dict[int, SwitchType] = Field(
        default_factory=dict, description="Type per switch identifier, overriding the defaults."
    )
    unavailable_switches: list[int] = Field(
        default_factory=list,
        description="Switch identifiers that cannot be operated (stuck, under maintenance); they keep "
        "their normal state.",
    )
    type_specs: dict[SwitchType, SwitchTypeSpec] = Field(
        default_factory=_default_types, description="Operation cost and time per switch type."
    )
    priority: dict[int, float] = Field(
        default_factory=dict,
        description="Priority weight per pandapower bus [-] (default 1; e.g. 10 for a hospital).",
    )
    non_sheddable_buses: list[int] = Field(
        default_factory=list,
        description="pandapower buses whose load cannot be disconnected on its own: served whenever "
        "the bus is energised. Every other load may be shed (lowest priority first).",
    )
    shed_whole_bus_loads: bool = Field(
        False,
        description="Shed a bus's load only as a whole (one binary per bus). Off: a bus load is an "
        "aggregate of LV feeders/customers and any fraction of it can be disconnected (faster MILP).",
    )
    reconfigure_healthy_area: bool = Field(
        False,
        description="Allow switching and shedding in the area still supplied after isolation "
        "(multi-level load transfer). Off: customers not hit by the fault are never interrupted; "
        "only the outage area and its boundary switches are operated.",
    )
    der_support: bool = Field(
        False,
        description="Count static generators on energised buses as negative load. Off by default: "
        "DER trips on the fault and reconnects only minutes after restoration (IEEE 1547).",
    )
    island_storage: list[int] = Field(
        default_factory=list,
        description="pandapower storage indices with grid-forming inverters: each may black-start and carry "
        "an island of the outage area that no substation reaches (one unit per island). Empty: no islands.",
    )
    island_duration_h: float = Field(
        2.0,
        gt=0.0,
        description="How long an island must be carried on battery energy alone, e.g. until the fault is "
        "repaired [h]; a unit's power is limited to its usable energy over this time.",
    )
    island_v_pu: float = Field(1.0, gt=0.0, description="Voltage setpoint of a unit forming an island [pu].")
    island_power_margin: float = Field(
        0.05,
        ge=0.0,
        lt=0.5,
        description="Share of a unit's power limit kept free in the MILP for the losses LinDistFlow omits [-].",
    )
    time_limit_s: float = Field(
        30.0, gt=0.0, description="Solver time limit [s]; the best plan found is returned, flagged."
    )
    mip_rel_gap: float = Field(1e-6, ge=0.0, description="Relative MIP gap at which the solver stops [-].")
    ac_check_steps: bool = Field(
        True,
        description="Run the AC power flow on every intermediate switching state, not only the final one.",
    )

    @model_validator(mode="after")
    def _limits_ordered(self) -> RestorationConfig:
        if self.v_min_pu + 2 * self.voltage_margin_pu >= self.v_max_pu:
            raise ValueError(
                f"v_min_pu {self.v_min_pu} + 2 * voltage_margin_pu {self.voltage_margin_pu} must be below "
                f"v_max_pu {self.v_max_pu}"
            )
        lo, hi = self.v_min_pu + self.voltage_margin_pu, self.v_max_pu - self.voltage_margin_pu
        if not lo <= self.island_v_pu <= hi:
            raise ValueError(f"island_v_pu {self.island_v_pu} must lie within the voltage limits with margin, "
                             f"{lo:.3f}..{hi:.3f} pu")  # fmt: skip
        missing = {"breaker", "remote", "manual"} - set(self.type_specs)
        if missing:
            raise ValueError(f"type_specs lacks switch types {sorted(missing)}")
        return self
