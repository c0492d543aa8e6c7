"""Public dispatch API: ``dispatch_feeder`` and ``dispatch`` -> :class:`DispatchResult`."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.dispatch.config import DispatchConfig
from gridai.dispatch.explain import explain_elastic, precheck
from gridai.dispatch.inputs import prepare_inputs
from gridai.dispatch.model import DispatchModel, build_model
from gridai.dispatch.scenarios import scenario_spread
from gridai.dispatch.vpp import flexibility_envelope
from gridai.exceptions import GridAIError, GridAIInfeasibleError
from gridai.grid.lindistflow import injection_bus_positions
from gridai.optim.solve import SolveResult, Status, solve_model

if TYPE_CHECKING:
    import pandapower as pp

logger = logging.getLogger(__name__)

COST_TERMS = ("energy", "peak", "degradation", "emissions", "tracking", "curtailment")


@dataclass
class DispatchResult:
    """A solved dispatch plan.

    Attributes
    ----------
    schedule:
        Long table: ``time, feeder, asset, kind, p_kw`` (net injection, + = into the grid) and
        ``soc_kwh`` (batteries, end of interval), ``charge_kw``/``discharge_kw`` (batteries).
    grid:
        ``time, feeder, scenario, quantile, load_kw, import_kw, export_kw, price_per_kwh,
        balance_dual`` (marginal cost of energy at the feeder head, LP only).
    vpp:
        ``time, agg_kw`` (+ ``target_kw``, ``env_min_kw``, ``env_max_kw`` when available).
    costs:
        ``energy, peak, degradation, emissions, tracking, curtailment, penalties, total`` at face
        value (expected over scenarios) [currency].
    network:
        Per network feeder: LinDistFlow and AC voltage band, max loading, max LinDistFlow-vs-AC
        voltage error, violations, checked intervals.
    """

    feeders: list[str]
    mode: str
    schedule: pd.DataFrame
    grid: pd.DataFrame
    vpp: pd.DataFrame
    costs: dict[str, float]
    solve: SolveResult
    network: dict[str, dict[str, Any]] = field(default_factory=dict)
    voltages: pd.DataFrame | None = None
    voltage_band: pd.DataFrame | None = None
    scenario_costs: dict[str, Any] | None = None
    envelope: pd.DataFrame | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "feeders": self.feeders,
            "mode": self.mode,
            "solve": self.solve.to_dict(),
            "costs": self.costs,
            "scenario_costs": self.scenario_costs,
            "network": self.network,
        }

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2, default=_json_default)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return str(o)


def _raise_infeasible(
    dm: DispatchModel | None, reasons: list[str], feeders: list[str], res: SolveResult | None
) -> None:
    head = f"no feasible dispatch for {', '.join(feeders)}"
    if res is not None and res.status == Status.TIMEOUT_NO_SOLUTION:
        head += " within the time limit"
        reasons = reasons or [
            "the solver found no feasible plan before the time limit; raise solve.time_limit_s"
        ]
    text = head + (": " + "; ".join(reasons) if reasons else "")
    raise GridAIInfeasibleError(text, explanation=reasons, feeders=feeders)


def _solve(cfg: DispatchConfig, dm: DispatchModel, feeders: list[str]) -> SolveResult:
    res = solve_model(dm.lm, cfg.solve, build_s=dm.build_s)
    if res.ok:
        return res
    if res.status in (Status.INFEASIBLE, Status.INFEASIBLE_OR_UNBOUNDED):
        reasons = explain_elastic(dm.lm, cfg.solve)
        res.explanation = reasons
        _raise_infeasible(
            dm, reasons or ["the constraints conflict (no IIS could be computed)"], feeders, res
        )
    if res.status == Status.TIMEOUT_NO_SOLUTION:
        _raise_infeasible(dm, [], feeders, res)
    raise GridAIError(f"dispatch solve failed for {', '.join(feeders)}: {res.status.value} ({res.message})")


def _schedule(dm: DispatchModel) -> pd.DataFrame:
    lm, data = dm.lm, dm.inputs
    names = [f.name for f in data.feeders]
    frames = []
    bat = data.batteries
    if bat.n:
        p = lm.value(dm.battery.dis) - lm.value(dm.battery.ch)
        frames.append(
            pd.DataFrame(
                {
                    "time": np.tile(data.times, bat.n),
                    "feeder": np.repeat([names[f] for f in bat.feeder], data.n_t),
                    "asset": np.repeat(bat.name, data.n_t),
                    "kind": "battery",
                    "p_kw": p.ravel(),
                    "soc_kwh": lm.value(dm.battery.soc).ravel(),
                    "charge_kw": lm.value(dm.battery.ch).ravel(),
                    "discharge_kw": lm.value(dm.battery.dis).ravel(),
                }
            )
        )
    for inj in dm.injections:
        if inj.kind.startswith("battery"):
            continue
        v = inj.sign * lm.value(inj.block)
        frames.append(
            pd.DataFrame(
                {
                    "time": np.tile(data.times, len(inj.asset)),
                    "feeder": np.repeat([names[f] for f in inj.feeder], data.n_t),
                    "asset": np.repeat(inj.asset, data.n_t),
                    "kind": inj.kind,
                    "p_kw": v.ravel(),
                    "soc_kwh": np.nan,
                }
            )
        )
    cols = ["time", "feeder", "asset", "kind", "p_kw", "soc_kwh", "charge_kw", "discharge_kw"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _grid_table(dm: DispatchModel) -> pd.DataFrame:
    lm, data = dm.lm, dm.inputs
    n_s, n_f, n_t = data.load_kw.shape
    imp = lm.value(dm.grid.imp)
    exp = lm.value(dm.grid.exp) if dm.grid.exp is not None else np.zeros_like(imp)
    dual = np.full(imp.shape, np.nan)
    if dm.balance is not None and (d := lm.dual(dm.balance)) is not None:
        dual = d / max(data.dt_h, 1e-12)  # per kWh: the row is in kW over dt hours
    for name, ldf in dm.network.items():
        i = [f.name for f in data.feeders].index(name)
        d = lm.dual(f"{ldf.balance.name.rsplit('_balance', 1)[0]}_head")
        if d is not None:
            dual[:, i, :] = d / max(data.dt_h, 1e-12)
    s, f, t = np.meshgrid(np.arange(n_s), np.arange(n_f), np.arange(n_t), indexing="ij")
    return pd.DataFrame(
        {
            "time": data.times[t.ravel()],
            "feeder": np.array([x.name for x in data.feeders])[f.ravel()],
            "scenario": s.ravel(),
            "quantile": np.asarray(data.levels)[s.ravel()],
            "load_kw": data.load_kw.ravel(),
            "import_kw": imp.ravel(),
            "export_kw": exp.ravel(),
            "price_per_kwh": data.price_per_kwh[t.ravel()],
            "balance_dual_per_kwh": dual.ravel(),
        }
    )


def _costs(dm: DispatchModel) -> tuple[dict[str, float], dict[str, Any] | None]:
    raw = dm.lm.cost_breakdown()
    costs = {k: float(raw.get(k, 0.0)) for k in COST_TERMS}
    costs["penalties"] = costs["tracking"] + costs["curtailment"]
    costs["total"] = sum(costs[k] for k in COST_TERMS)
    data = dm.inputs
    if len(data.weights) == 1:
        return costs, None
    lm, g = dm.lm, dm.grid
    x = lm.solution.x if lm.solution is not None else np.zeros(lm.n_col)
    w = data.weights
    per_s = np.zeros(len(w))
    for name in ("energy", "peak", "emissions"):
        if name not in lm.costs:
            continue
        cols, vals = lm.costs[name]
        # these terms carry w[s]; divide it back out per scenario
        blocks = [b for b in (g.imp, g.exp, g.peak) if b is not None]
        for b in blocks:
            sel = (cols >= b.offset) & (cols < b.offset + b.size)
            s_of = (cols[sel] - b.offset) // (b.size // b.shape[0])
            np.add.at(per_s, s_of, vals[sel] * x[cols[sel]] / w[s_of])
    first_stage = costs["degradation"] + costs["tracking"] + costs["curtailment"]
    spread: dict[str, Any] = dict(scenario_spread(per_s + first_stage, w))
    spread["per_scenario"] = {
        (f"q{q:g}" if np.isfinite(q) else f"s{k}"): float(c + first_stage)
        for k, (q, c) in enumerate(zip(data.levels, per_s, strict=True))
    }  # quantile paths by level, sampled paths (level NaN) by number
    spread["weights"] = [float(v) for v in w]
    return costs, spread


def _network_check(
    dm: DispatchModel,
) -> tuple[dict[str, dict[str, Any]], pd.DataFrame | None, pd.DataFrame | None]:
    from gridai.grid.ac_check import AcChecker

    lm, data = dm.lm, dm.inputs
    out: dict[str, dict[str, Any]] = {}
    vframes, bands = [], []
    for i, fi in enumerate(data.feeders):
        if fi.name not in dm.network or fi.radial is None or fi.load_scale is None or fi.cfg.network is None:
            continue
        nc, rf, ldf = fi.cfg.network, fi.radial, dm.network[fi.name]
        s_ref = int(np.argmax(data.weights))
        v_ldf = np.sqrt(np.clip(lm.value(ldf.w_pu2)[s_ref], 0, None))  # (N, T)
        # worst intervals: lowest LinDistFlow voltage, plus the highest voltage (reverse flow risk)
        n_chk = min(nc.ac_check_intervals, data.n_t)
        order = np.argsort(v_ldf.min(axis=0), kind="stable")
        picks = [*order[: max(n_chk - 1, 0)].tolist(), int(np.argmax(v_ldf.max(axis=0))), *order.tolist()]
        chosen = sorted(list(dict.fromkeys(picks))[:n_chk])
        # per-interval planned injection per pandapower bus [MW]
        inj_mw = np.zeros((rf.n_bus, data.n_t))
        for inj in dm.injections:
            mask = inj.feeder == i
            if mask.any():
                loc = injection_bus_positions(rf, inj, mask)
                np.add.at(inj_mw, loc, inj.sign * lm.value(inj.block)[mask] / 1000.0)
        bus_ids = rf.arrays.bus[rf.buses]
        checker = AcChecker(fi.net) if chosen and fi.net is not None else None
        ac_vmin, ac_vmax, ac_load, max_dv, viol = [], [], [], 0.0, []
        for t in chosen:
            assert checker is not None
            res = checker.run(
                {int(b): float(p) for b, p in zip(bus_ids, inj_mw[:, t], strict=True) if abs(p) > 1e-9},
                load_scale=float(fi.load_scale[s_ref, t]),
                v_min_pu=nc.v_min_pu,
                v_max_pu=nc.v_max_pu,
            )
            viol += [f"{data.times[t]}: {v}" for v in res.violations]
            if not res.converged:
                continue
            ac_vmin.append(res.v_min_pu)
            ac_vmax.append(res.v_max_pu)
            ac_load.append(res.max_loading_pct)
            v_ac = res.vm_pu.reindex(bus_ids).to_numpy()
            max_dv = max(max_dv, float(np.nanmax(np.abs(v_ac - v_ldf[:, t]))))
            vframes.append(pd.DataFrame({"time": data.times[t], "feeder": fi.name, "bus": bus_ids,
                                         "v_lindistflow_pu": v_ldf[:, t], "v_ac_pu": v_ac}))  # fmt: skip
        p = lm.value(ldf.p_kw)[s_ref]
        q = lm.value(ldf.q_kvar)[s_ref]
        s_max = 1000.0 * rf.arrays.s_max_mva[rf.branch]
        with np.errstate(divide="ignore", invalid="ignore"):
            ldf_loading = np.where(np.isfinite(s_max)[:, None], 100 * np.hypot(p, q) / s_max[:, None], 0.0)
        bands.append(pd.DataFrame({"time": data.times, "feeder": fi.name, "v_min_pu": v_ldf.min(axis=0),
                                   "v_max_pu": v_ldf.max(axis=0)}))  # fmt: skip
        out[fi.name] = {
            "network": nc.network,
            "v_min_limit_pu": nc.v_min_pu,
            "v_max_limit_pu": nc.v_max_pu,
            "v_margin_pu": nc.v_margin_pu,
            "lindistflow_v_min_pu": float(v_ldf.min()),
            "lindistflow_v_max_pu": float(v_ldf.max()),
            "lindistflow_max_loading_pct": float(np.nanmax(ldf_loading)) if ldf_loading.size else 0.0,
            "v_min_pu": float(min(ac_vmin)) if ac_vmin else None,
            "v_max_pu": float(max(ac_vmax)) if ac_vmax else None,
            "max_loading_pct": float(max(ac_load)) if ac_load else None,
            "lindistflow_vs_ac_max_dv_pu": max_dv if chosen else None,
            "ac_checked_intervals": [str(data.times[t]) for t in chosen],
            "violations": viol,
        }
    cat = lambda fr: pd.concat(fr, ignore_index=True) if fr else None  # noqa: E731
    return out, cat(vframes), cat(bands)


def run_dispatch(
    cfg: DispatchConfig,
    forecast: xr.Dataset,
    feeders: list[str],
    *,
    nets: dict[str, pp.pandapowerNet] | None = None,
    mode: str | None = None,
) -> DispatchResult:
    """Check, build, solve and report one dispatch problem over ``feeders`` (joint when several)."""
    data = prepare_inputs(cfg, forecast, feeders, nets, mode)
    reasons = precheck(data)
    if reasons:
        _raise_infeasible(None, reasons, feeders, None)
    dm = build_model(cfg, data, name="dispatch_" + "_".join(feeders))
    res = _solve(cfg, dm, feeders)
    costs, spread = _costs(dm)
    agg_kw = sum((inj.sign * dm.lm.value(inj.block)).sum(axis=0) for inj in dm.injections)
    vpp = pd.DataFrame({"time": data.times, "agg_kw": np.zeros(data.n_t) + agg_kw})
    if data.vpp_target_kw is not None:
        vpp["target_kw"] = data.vpp_target_kw
    envelope = None
    if cfg.vpp.envelope and dm.vpp_agg is not None:
        t0 = time.perf_counter()
        lo, hi = flexibility_envelope(dm.lm, dm.vpp_agg, cfg.solve)
        vpp["env_min_kw"], vpp["env_max_kw"] = lo, hi
        envelope = vpp[["time", "env_min_kw", "env_max_kw"]].copy()
        logger.info("flexibility envelope: %d LPs in %.2f s", 2 * data.n_t, time.perf_counter() - t0)
    network, voltages, band = _network_check(dm)
    return DispatchResult(
        feeders=list(feeders),
        mode=mode or cfg.mode,
        schedule=_schedule(dm),
        grid=_grid_table(dm),
        vpp=vpp,
        costs=costs,
        solve=res,
        network=network,
        voltages=voltages,
        voltage_band=band,
        scenario_costs=spread,
        envelope=envelope,
    )


def dispatch_feeder(
    cfg: DispatchConfig,
    forecast: xr.Dataset,
    *,
    feeder: str,
    net: pp.pandapowerNet | None = None,
    mode: str | None = None,
) -> DispatchResult:
    """Dispatch one configured feeder on ``forecast`` (``mode``: ``deterministic`` or ``scenario``)."""
    return run_dispatch(cfg, forecast, [feeder], nets={feeder: net} if net is not None else None, mode=mode)


def dispatch(
    cfg: DispatchConfig, forecast: xr.Dataset, *, mode: str | None = None
) -> dict[str, DispatchResult]:
    """Dispatch every configured feeder.

    Feeders are independent problems solved one by one, unless a VPP target couples them:
    then one joint problem is solved and returned under the key ``"vpp"``.
    """
    names = [f.name for f in cfg.feeders]
    if cfg.vpp.target_kw is not None:
        return {"vpp": run_dispatch(cfg, forecast, names, mode=mode)}
    return {n: dispatch_feeder(cfg, forecast, feeder=n, mode=mode) for n in names}
