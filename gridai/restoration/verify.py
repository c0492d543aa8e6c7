"""Independent verification of a restoration plan, in code separate from the MILP.

The switch-level states produced by the switching sequence are applied to a copy of the
pandapower network; its own topology (``pandapower.topology``) and an AC power flow then
decide whether the plan is radial, isolates the fault and respects the limits.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import pandapower as pp
import pandapower.topology as top

from gridai.grid.powerflow import PowerFlowError, power_flow
from gridai.restoration.islands import island_problems, with_island_slacks
from gridai.restoration.network import NO_FAULT, Fault, RestorationNetwork
from gridai.restoration.sequence import SwitchingStep, apply_steps

logger = logging.getLogger(__name__)


@dataclass
class Verdict:
    """Outcome of the checks on one network state.

    Attributes
    ----------
    passed:
        Every check passed.
    checks:
        Check name -> passed.
    problems:
        Plain-words description of every failed check.
    v_min_pu, v_max_pu, max_loading_percent:
        AC power flow extremes over energised buses and branches (``nan`` when not run).
    """

    passed: bool
    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    v_min_pu: float = float("nan")
    v_max_pu: float = float("nan")
    max_loading_percent: float = float("nan")
    island_load: dict[int, float] = field(default_factory=dict)  # storage -> AC output / its limit [-]

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if np.isnan(v) else round(float(v), 5)

        return {
            "passed": self.passed,
            "checks": {k: bool(v) for k, v in self.checks.items()},
            "problems": list(self.problems),
            "v_min_pu": num(self.v_min_pu),
            "v_max_pu": num(self.v_max_pu),
            "max_loading_percent": num(self.max_loading_percent),
        }


#: Tables a plan changes (states, loads, sources) and the power-flow results: copied for every
#: checked state; the rest of the network (buses, line and trafo data, geodata) is shared read-only.
_STATE_TABLES = ("line", "switch", "ext_grid", "load", "sgen", "storage")


def _state_copy(net: pp.pandapowerNet) -> pp.pandapowerNet:
    """A copy of ``net`` whose state tables and results are private (``deepcopy`` of a whole
    network took half of the verification time of a readiness sweep)."""
    out = copy.copy(net)
    for key in list(out.keys()):
        private = key.startswith(("res_", "_")) and not key.startswith("_empty_res")  # templates stay shared
        if key in _STATE_TABLES or private:
            out[key] = copy.deepcopy(net[key])
    return out


def plan_net(
    rn: RestorationNetwork,
    fault: Fault,
    switch_state: dict[int, bool],
    served_fraction: np.ndarray,
    islands: tuple[int, ...] = (),
) -> tuple[pp.pandapowerNet, dict[int, int]]:
    """A copy of the network in the given switch state, loads scaled by their served fraction,
    each started grid-forming unit replaced by an external grid; also {storage: ext_grid index}."""
    net = _state_copy(rn.net)
    if rn.line_switches_virtual:
        for line, closed in switch_state.items():
            net.line.at[line, "in_service"] = closed
    else:
        net.switch["closed"] = [switch_state[int(i)] for i in net.switch.index]
    dead_sections = {int(rn.section[b]) for b in fault.dead_buses}
    for i, eg in net.ext_grid.iterrows():
        pos = np.flatnonzero(rn.arrays.bus == eg["bus"])
        if len(pos) and int(rn.section[pos[0]]) in dead_sections:
            net.ext_grid.at[i, "in_service"] = False
    frac = dict(zip(rn.arrays.bus.tolist(), served_fraction.tolist(), strict=True))
    if len(net.load):
        net.load["scaling"] = net.load["scaling"] * net.load["bus"].map(frac).fillna(0.0).to_numpy()
    if len(net.sgen) and not rn.config.der_support:
        net.sgen["in_service"] = False
    units = [u for u in rn.island_units if u.storage in islands]
    return net, with_island_slacks(net, units, rn.arrays.bus)


def _topology_checks(rn: RestorationNetwork, fault: Fault, net: pp.pandapowerNet, v: Verdict) -> set[int]:
    g = top.create_nxgraph(net, respect_switches=True, include_out_of_service=False)
    in_service_sources = set(net.ext_grid.loc[net.ext_grid["in_service"], "bus"].astype(int))
    forest, one_source = True, True
    supplied: set[int] = set()
    for comp in nx.connected_components(g):
        sub = g.subgraph(comp)
        if sub.number_of_edges() != len(comp) - 1:
            forest = False
            cyc = [str(e[:2]) for e in nx.find_cycle(nx.MultiGraph(sub))]
            v.problems.append(f"loop closed through buses {', '.join(cyc)}")
        n_src = len(in_service_sources & set(comp))
        if n_src > 1:
            one_source = False
            v.problems.append(f"buses {sorted(comp)[:8]} are fed by {n_src} sources at once")
        if n_src >= 1:
            supplied |= {int(b) for b in comp}
    v.checks["radial"] = forest
    v.checks["one_source_per_island"] = one_source
    isolated = True
    for line in fault.lines:
        ln = net.line.loc[line]
        for end in (int(ln["from_bus"]), int(ln["to_bus"])):
            if rn.line_switches_virtual:
                cut = not bool(ln["in_service"])
            else:
                sw = net.switch[
                    (net.switch["et"] == "l") & (net.switch["element"] == line) & (net.switch["bus"] == end)
                ]
                cut = not bool(ln["in_service"]) or (len(sw) > 0 and not bool(sw["closed"].all()))
            if not cut and end in supplied:
                isolated = False
                v.problems.append(f"faulted line {line} is still energised from bus {end}")
    for b in fault.buses:
        if int(b) in supplied:
            isolated = False
            v.problems.append(f"faulted bus {b} is still energised")
    v.checks["fault_isolated"] = isolated
    return supplied


def normal_voltages(rn: RestorationNetwork) -> dict[int, float]:
    """AC bus voltages [pu] of the normal state before any fault (computed once per network);
    empty when that power flow does not converge."""
    if rn.normal_vm_pu is None:
        net, _ = plan_net(rn, NO_FAULT, apply_steps(rn, []), np.ones(rn.arrays.n_bus))
        try:
            converged = power_flow(net, numba=False, max_iteration=30).converged
        except PowerFlowError:
            converged = False
        rn.normal_vm_pu = (
            {int(b): float(x) for b, x in net.res_bus["vm_pu"].dropna().items()} if converged else {}
        )
    return rn.normal_vm_pu


def _ac_checks(
    rn: RestorationNetwork, net: pp.pandapowerNet, supplied: set[int], v: Verdict, slacks: dict[int, int]
) -> None:
    cfg = rn.config
    if not supplied:
        v.checks["ac_power_flow"] = True
        return
    try:
        failure = power_flow(net, numba=False, max_iteration=30).error_type  # "" when converged
    except PowerFlowError as err:  # reported like non-convergence, with pandapower's error type
        failure = str(err.details.get("error_type", "PowerFlowError"))
    if failure:
        v.checks["ac_power_flow"] = False
        v.problems.append(f"AC power flow does not converge ({failure})")
        return
    v.checks["ac_power_flow"] = True
    if slacks:
        units = [u for u in rn.island_units if u.storage in slacks]
        problems = island_problems(net, units, slacks, v.island_load)
        v.checks["island_source_limits"] = not problems
        v.problems.extend(problems)
    vm = net.res_bus["vm_pu"].dropna()
    vm = vm[vm.index.isin(list(supplied))]
    v.v_min_pu = float(vm.min()) if len(vm) else float("nan")
    v.v_max_pu = float(vm.max()) if len(vm) else float("nan")
    tol = 1e-6
    low = vm[vm < cfg.v_min_pu - tol]
    high = vm[vm > cfg.v_max_pu + tol]
    v.checks["voltage_limits"] = low.empty and high.empty
    for bad, word, limit in ((low, "below", cfg.v_min_pu), (high, "above", cfg.v_max_pu)):
        if bad.empty:
            continue
        bus = int(bad.idxmin() if word == "below" else bad.idxmax())
        text = f"voltage {float(bad[bus]):.4f} pu at bus {bus} {word} {limit} pu"
        before = normal_voltages(rn).get(bus)
        if before is not None and (
            before < cfg.v_min_pu - tol if word == "below" else before > cfg.v_max_pu + tol
        ):
            text += (
                f" (already {before:.4f} pu in the normal state before the fault: not caused by this plan)"
            )
        v.problems.append(text)
    loading = []
    a = rn.arrays
    rated = rn.rating_mva * 100.0 / cfg.max_loading_percent  # back to the nameplate rating [MVA]
    for k in range(a.n_branch):
        if not np.isfinite(rated[k]) or a.kind[k] == "switch":
            continue
        res = net.res_line if a.kind[k] == "line" else net.res_trafo
        el = int(a.element[k])
        if el not in res.index:
            continue
        cols = ("p_from_mw", "q_from_mvar", "p_to_mw", "q_to_mvar") if a.kind[k] == "line" else (
            "p_hv_mw", "q_hv_mvar", "p_lv_mw", "q_lv_mvar")  # fmt: skip
        r = res.loc[el]
        s_mva = max(float(np.hypot(r[cols[0]], r[cols[1]])), float(np.hypot(r[cols[2]], r[cols[3]])))
        if np.isnan(s_mva):
            continue
        # line ratings are sqrt(3) I V_nominal; the current-based loading uses the actual voltage
        pct = s_mva / rated[k] * 100.0
        if a.kind[k] == "line" and "loading_percent" in res.columns and rated[k] == a.s_max_mva[k]:
            pct = float(r["loading_percent"])
        if not np.isnan(pct):
            loading.append((pct, rn.branch_label(k)))
    if loading:
        worst = max(loading)
        v.max_loading_percent = worst[0]
        v.checks["thermal_limits"] = bool(worst[0] <= cfg.max_loading_percent + 1e-6)
        if not v.checks["thermal_limits"]:
            v.problems.append(f"{worst[1]} loaded {worst[0]:.1f} % > {cfg.max_loading_percent} %")
    else:
        v.checks["thermal_limits"] = True


def verify_state(
    rn: RestorationNetwork,
    fault: Fault,
    switch_state: dict[int, bool],
    served_fraction: np.ndarray,
    ac: bool = True,
    islands: tuple[int, ...] = (),
) -> Verdict:
    """Check one switch state: radial, one source per energised island, fault de-energised, AC
    limits, and the power of the grid-forming units ``islands`` that carry an island."""
    v = Verdict(passed=False)
    net, slacks = plan_net(rn, fault, switch_state, served_fraction, islands)
    supplied = _topology_checks(rn, fault, net, v)
    if ac:
        _ac_checks(rn, net, supplied, v, slacks)
    v.passed = all(v.checks.values())
    return v


def verify_sequence(
    rn: RestorationNetwork,
    fault: Fault,
    steps: list[SwitchingStep],
    served_fraction: np.ndarray,
    ac_every_step: bool = True,
) -> tuple[Verdict, list[Verdict]]:
    """Verify the final state and each intermediate state of ``steps`` (after isolation)."""

    def started(upto: int) -> tuple[int, ...]:
        return tuple(s.unit for s in steps[:upto] if s.unit is not None)

    final = verify_state(
        rn, fault, apply_steps(rn, steps), served_fraction, ac=True, islands=started(len(steps))
    )
    n_iso = sum(1 for s in steps if s.phase == "isolate")
    per_step = [
        verify_state(
            rn, fault, apply_steps(rn, steps, upto=i), served_fraction, ac=ac_every_step, islands=started(i)
        )  # fmt: skip
        for i in range(max(n_iso, 1), len(steps))
    ]
    return final, per_step
