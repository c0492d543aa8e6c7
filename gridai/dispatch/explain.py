"""Plain-words explanations of infeasible dispatch problems.

Two layers:

1. **Pre-checks** of simple physics before any solve (energy reachability of terminal SoC
   targets, EV and shiftable energy that cannot fit their window, import limits below the
   un-shiftable load). They name the asset, the interval and the numbers.
2. **Elastic relaxation** (HiGHS ``feasibilityRelaxation``) for whatever the pre-checks miss:
   the limits that must be broken are mapped back to their constraint/variable families (their
   descriptions) and positions (asset, bus, interval), largest violation first.
"""

from __future__ import annotations

import logging

import highspy
import numpy as np

from gridai.dispatch.inputs import DispatchInputs
from gridai.dispatch.storage import max_reachable_soc_kwh, min_reachable_soc_kwh
from gridai.optim.linear import LinearModel
from gridai.optim.solve import SolveOptions, make_highs

logger = logging.getLogger(__name__)


def precheck(data: DispatchInputs) -> list[str]:
    """Reasons the problem cannot be feasible, found without solving (empty: none found)."""
    out: list[str] = []
    bat, n_t, dt = data.batteries, data.n_t, data.dt_h
    if bat.n:
        hi = max_reachable_soc_kwh(bat, n_t, dt)
        lo = min_reachable_soc_kwh(bat, n_t, dt)
        for b in range(bat.n):
            target = bat.soc_terminal_kwh[b]
            need = target if np.isfinite(target) else (bat.soc_initial_kwh[b] if bat.cyclic[b] else np.nan)
            if np.isfinite(need) and need > hi[b] + 1e-6:
                out.append(
                    f"terminal SoC {100 * need / bat.energy_kwh[b]:.0f} % of battery {bat.name[b]} is unreachable: "
                    f"starting at {bat.soc_initial_kwh[b] / 1000:.2f} MWh, max charge "
                    f"{bat.charge_kw[b] * dt * n_t * bat.eta_charge[b] / 1000:.2f} MWh over the horizon "
                    f"reaches at most {hi[b] / 1000:.2f} MWh (needs {need / 1000:.2f} MWh)"
                )
            if bat.cyclic[b] and not np.isfinite(target) and bat.soc_initial_kwh[b] < lo[b] - 1e-6:
                out.append(f"battery {bat.name[b]}: cyclic SoC impossible (standing loss too high)")
            if not bat.soc_min_kwh[b] - 1e-9 <= bat.soc_initial_kwh[b] <= bat.soc_max_kwh[b] + 1e-9:
                out.append(
                    f"battery {bat.name[b]}: initial SoC {bat.soc_initial_kwh[b]:.1f} kWh outside its SoC bounds "
                    f"[{bat.soc_min_kwh[b]:.1f}, {bat.soc_max_kwh[b]:.1f}] kWh"
                )
    ev = data.ev
    for k, name in enumerate(ev.name):
        for s, need in enumerate(ev.session_energy_kwh[k]):
            n_int = int((ev.session[k] == s).sum())
            can = ev.max_power_kw[k] * ev.efficiency[k] * n_int * dt
            if need > can + 1e-6:
                t0 = data.times[np.flatnonzero(ev.session[k] == s)[0]]
                out.append(
                    f"EV fleet {name}: session {s} (from {t0}) needs {need:.0f} kWh but at most {can:.0f} kWh "
                    f"can be charged ({ev.max_power_kw[k]:.0f} kW x {n_int * dt:.2f} h x efficiency {ev.efficiency[k]})"
                )
    fx = data.shift
    for k, name in enumerate(fx.name):
        for w, need in enumerate(fx.window_energy_kwh[k]):
            can = fx.max_power_kw[k] * int((fx.window_id[k] == w).sum()) * dt
            if need > can + 1e-6:
                out.append(
                    f"shiftable load {name}: window {w} needs {need:.0f} kWh, at most {can:.0f} kWh fit"
                )
    for i, f in enumerate(data.feeders):
        lim = f.cfg.import_limit_kw
        if lim is None:
            continue
        flex_kw = 0.0
        flex_kw += float(bat.discharge_kw[bat.feeder == i].sum())
        flex_kw += float(data.pv.profile_kw[data.pv.feeder == i].max(initial=0.0))
        flex_kw += float(data.curtail.max_power_kw[data.curtail.feeder == i].sum())
        over = np.flatnonzero(data.load_kw[:, i, :].max(axis=0) > lim + flex_kw + 1e-6)
        if len(over):
            t = over[0]
            out.append(
                f"feeder {f.name}: load {data.load_kw[:, i, t].max():.0f} kW at {data.times[t]} exceeds the import "
                f"limit {lim:.0f} kW plus all flexible supply {flex_kw:.0f} kW ({len(over)} intervals)"
            )
    return out


def explain_elastic(m: LinearModel, options: SolveOptions | None = None, max_items: int = 6) -> list[str]:
    """Which limits must be broken, where and by how much, to make ``m`` feasible.

    HiGHS's feasibility relaxation (``Highs.feasibilityRelaxation``) minimises the total violation
    of variable bounds and inequality rows, with unit penalties; fixed variables and equality rows
    (physics: SoC balance, power balance, voltage drop) are never relaxed. The violated families
    are reported with their positions. (HiGHS's IIS was tried first: on a case33bw voltage
    conflict it returned a 5,600-row subsystem after 12 s, which explains nothing.)
    """
    lp = m.arrays()
    if lp.integer.any():
        lp = type(lp)(**{**lp.__dict__, "integer": np.zeros_like(lp.integer)})
    h = make_highs(lp, (options or SolveOptions()).model_copy(update={"time_limit_s": 60.0}))
    fixed = lp.col_lo == lp.col_hi
    col_pen = np.where(fixed, -1.0, 1.0)
    row_pen = np.where(lp.row_lo == lp.row_hi, -1.0, 1.0)
    status = h.feasibilityRelaxation(1.0, 1.0, 1.0, col_pen, col_pen, row_pen)
    if status == highspy.HighsStatus.kError:
        return []
    sol = h.getSolution()
    if not sol.value_valid:
        return []
    x = np.asarray(sol.col_value)
    r = np.asarray(sol.row_value)
    items: list[tuple[float, str]] = []
    col_v = np.maximum(lp.col_lo - x, x - lp.col_hi)
    row_v = np.maximum(lp.row_lo - r, r - lp.row_hi)
    for blk in m.blocks.values():
        v = col_v[blk.offset : blk.offset + blk.size]
        bad = np.flatnonzero(v > 1e-6)
        if len(bad):
            side = "lower" if (lp.col_lo - x)[blk.offset + bad[np.argmax(v[bad])]] > 0 else "upper"
            where = [blk.label(int(i)) for i in bad[np.argsort(-v[bad])][:3]]
            items.append(
                (
                    float(v[bad].max()),
                    _describe(f"{side} limit of {blk.description or blk.name}", v[bad], where),
                )
            )
    for fam in m.families.values():
        v = row_v[fam.offset : fam.offset + fam.size]
        bad = np.flatnonzero(v > 1e-6)
        if len(bad):
            where = [fam.label(int(i)) for i in bad[np.argsort(-v[bad])][:3]]
            items.append((float(v[bad].max()), _describe(fam.description or fam.name, v[bad], where)))
    items.sort(key=lambda it: -it[0])
    return [text for _, text in items[:max_items]]


def _describe(what: str, viol: np.ndarray, where: list[str]) -> str:
    more = f" and {len(viol) - len(where)} more" if len(viol) > len(where) else ""
    return f"{what} would have to be broken by up to {viol.max():.4g} at {'; '.join(where)}{more}"
