"""AC power flow check of a planned network state with pandapower (Newton-Raphson).

Used after dispatch (on the scheduled intervals) and by restoration (on a switching plan):
set branch states from a :class:`~gridai.grid.topology.FeederArrays` ``closed``
vector, scale or replace the bus loads, add the planned active-power injections per bus, run
the AC power flow (:func:`~gridai.grid.powerflow.power_flow`) and report voltages, loadings, losses and limit violations.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandapower as pp
import pandas as pd

from gridai.grid.powerflow import power_flow
from gridai.grid.topology import FeederArrays

logger = logging.getLogger(__name__)


@dataclass
class AcCheckResult:
    """Outcome of one AC power flow.

    Attributes
    ----------
    converged:
        Newton-Raphson converged.
    v_min_pu, v_max_pu:
        Extreme voltages over energised buses [pu].
    max_loading_pct:
        Highest line/trafo loading [% of rating].
    losses_mw:
        Active losses (lines + trafos) [MW].
    vm_pu:
        Voltage per pandapower bus index [pu] (NaN where de-energised).
    loading_pct:
        Loading per branch, index ``"line 3"`` / ``"trafo 0"`` [%].
    violations:
        Plain-words limit violations.
    """

    converged: bool
    v_min_pu: float = float("nan")
    v_max_pu: float = float("nan")
    max_loading_pct: float = float("nan")
    losses_mw: float = float("nan")
    vm_pu: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    loading_pct: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.converged and not self.violations

    def to_dict(self) -> dict[str, Any]:
        def f(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "converged": self.converged,
            "v_min_pu": f(self.v_min_pu),
            "v_max_pu": f(self.v_max_pu),
            "max_loading_pct": f(self.max_loading_pct),
            "losses_mw": f(self.losses_mw),
            "violations": list(self.violations),
        }


def apply_branch_states(net: pp.pandapowerNet, arrays: FeederArrays, closed: np.ndarray) -> None:
    """Set ``net``'s lines, trafos and switches so that branch ``k`` is closed iff ``closed[k]``.

    A line with switches is opened by opening its switches (and closed by closing them and
    putting the line in service); a line without switches is taken out of service.
    """
    for k, state in enumerate(np.asarray(closed, dtype=bool).tolist()):
        kind, el, sws = (
            arrays.kind[k],
            int(arrays.element[k]),
            arrays.switch_ids[k] if arrays.switch_ids else (),
        )
        if kind == "line":
            if sws:
                net.switch.loc[list(sws), "closed"] = state
                if state:
                    net.line.at[el, "in_service"] = True
            else:
                net.line.at[el, "in_service"] = state
        elif kind == "trafo":
            net.trafo.at[el, "in_service"] = state
        elif kind == "switch":
            net.switch.at[el, "closed"] = state


class AcChecker:
    """A prepared working copy of a net for repeated AC checks (the caller's net is untouched)."""

    def __init__(
        self,
        net: pp.pandapowerNet,
        arrays: FeederArrays | None = None,
        closed: np.ndarray | None = None,
        numba: bool | None = None,
    ):
        self.net = copy.deepcopy(net)
        # numba's first compilation costs ~10 s: worth it only on large networks
        self.numba = len(net.bus) > 2000 if numba is None else numba
        if closed is not None:
            if arrays is None:  # the default flattening of the same net: branch order is deterministic
                from gridai.grid.topology import feeder_arrays

                arrays = feeder_arrays(net)
            if len(closed) != arrays.n_branch:
                raise ValueError(
                    f"closed has {len(closed)} entries, the network has {arrays.n_branch} branches"
                )
            apply_branch_states(self.net, arrays, closed)
        self._load_p0 = self.net.load["p_mw"].to_numpy(copy=True)
        self._load_q0 = self.net.load["q_mvar"].to_numpy(copy=True)
        self._sgen_p0 = self.net.sgen["p_mw"].to_numpy(copy=True)
        self._sgen_q0 = self.net.sgen["q_mvar"].to_numpy(copy=True)
        self._n_sgen0 = len(self.net.sgen)
        self._sgen: dict[int, int] = {}

    def _set_injections(self, p_inj_mw_by_bus: Mapping[int, float]) -> None:
        for idx in self._sgen.values():
            self.net.sgen.at[idx, "p_mw"] = 0.0
        for bus, p in p_inj_mw_by_bus.items():
            if int(bus) not in self._sgen:
                self._sgen[int(bus)] = pp.create_sgen(self.net, int(bus), p_mw=0.0, name="gridai_plan")
            self.net.sgen.at[self._sgen[int(bus)], "p_mw"] = float(p)

    def run(
        self,
        p_inj_mw_by_bus: Mapping[int, float] | None = None,
        *,
        load_scale: float = 1.0,
        p_load_mw_by_bus: Mapping[int, float] | None = None,
        v_min_pu: float = 0.95,
        v_max_pu: float = 1.05,
        max_loading_pct: float = 100.0,
    ) -> AcCheckResult:
        """One AC power flow: loads scaled by ``load_scale`` (or set per bus), plus injections [MW]."""
        net = self.net
        net.load["p_mw"] = self._load_p0 * load_scale
        net.load["q_mvar"] = self._load_q0 * load_scale
        # the network's own generators scale with the loads: FeederArrays holds net demand
        n0 = self._n_sgen0
        net.sgen.iloc[:n0, net.sgen.columns.get_loc("p_mw")] = self._sgen_p0 * load_scale
        net.sgen.iloc[:n0, net.sgen.columns.get_loc("q_mvar")] = self._sgen_q0 * load_scale
        if p_load_mw_by_bus is not None:
            base = net.load.groupby("bus")["p_mw"].transform("sum").replace(0.0, np.nan)
            target = net.load["bus"].map(lambda b: p_load_mw_by_bus.get(int(b), 0.0))
            ratio = (target / base).fillna(0.0).to_numpy()
            net.load["p_mw"] = net.load["p_mw"].to_numpy() * ratio
            net.load["q_mvar"] = net.load["q_mvar"].to_numpy() * ratio
        self._set_injections(p_inj_mw_by_bus or {})
        pf = power_flow(net, algorithm="nr", init="flat", numba=self.numba, check_connectivity=True)
        if not pf.converged:
            return AcCheckResult(
                converged=False, violations=["AC power flow did not converge (voltage collapse?)"]
            )
        vm = net.res_bus["vm_pu"]
        ext = set(int(b) for b in net.ext_grid["bus"])
        vm_free = vm[[b not in ext for b in vm.index]].dropna()
        loading = pd.concat(
            [
                net.res_line["loading_percent"].rename(lambda i: f"line {i}"),
                net.res_trafo["loading_percent"].rename(lambda i: f"trafo {i}"),
            ]
        ).dropna()
        viol = []
        for b, v in vm_free.items():
            if v < v_min_pu - 1e-6 or v > v_max_pu + 1e-6:
                viol.append(f"bus {b} voltage {v:.4f} pu outside [{v_min_pu}, {v_max_pu}]")
        for name, ld in loading.items():
            if ld > max_loading_pct + 1e-6:
                viol.append(f"{name} loaded {ld:.1f} % (> {max_loading_pct:.0f} %)")
        losses = float(
            net.res_line["pl_mw"].sum() + (net.res_trafo["pl_mw"].sum() if len(net.trafo) else 0.0)
        )
        return AcCheckResult(
            converged=True,
            v_min_pu=float(vm_free.min()) if len(vm_free) else float("nan"),
            v_max_pu=float(vm_free.max()) if len(vm_free) else float("nan"),
            max_loading_pct=float(loading.max()) if len(loading) else 0.0,
            losses_mw=losses,
            vm_pu=vm.copy(),
            loading_pct=loading,
            violations=viol,
        )


def run_ac_check(
    net: pp.pandapowerNet,
    p_inj_mw_by_bus: Mapping[int, float] | None = None,
    *,
    load_scale: float = 1.0,
    p_load_mw_by_bus: Mapping[int, float] | None = None,
    arrays: FeederArrays | None = None,
    closed: np.ndarray | None = None,
    v_min_pu: float = 0.95,
    v_max_pu: float = 1.05,
    max_loading_pct: float = 100.0,
) -> AcCheckResult:
    """AC power flow of one network state (see :class:`AcChecker` to check many intervals).

    Parameters
    ----------
    net:
        pandapower network (not modified).
    p_inj_mw_by_bus:
        Planned active injection per pandapower bus index [MW] (negative = consumption).
    load_scale:
        Multiplier of every load's and static generator's ``p_mw``/``q_mvar`` [-] (the net demand of
        :class:`FeederArrays` scales as a whole).
    p_load_mw_by_bus:
        Replace the load per bus [MW] (after scaling; loads at one bus keep their ratios and power factor).
    arrays, closed:
        Branch states to apply (``closed[k]`` for branch ``k`` of ``arrays``, default
        ``feeder_arrays(net)``), e.g. a restoration plan.
    """
    return AcChecker(net, arrays, closed).run(
        p_inj_mw_by_bus,
        load_scale=load_scale,
        p_load_mw_by_bus=p_load_mw_by_bus,
        v_min_pu=v_min_pu,
        v_max_pu=v_max_pu,
        max_loading_pct=max_loading_pct,
    )
