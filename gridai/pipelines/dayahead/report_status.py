"""The report's run status: one state for the banner, and the list of everything behind it.

State (worst first):

``fallbacks``
    the run substituted something (a baseline forecast, an idle schedule, ...): every
    ``fallbacks`` entry of ``run.json``;
``warnings``
    no fallback, but something a dispatcher must look at: a ``run.json`` warning, a red health
    flag in ``network_health.csv`` (a bus below ``v_min_pu``, a branch above ``loading_max_pct``, a
    power flow that did not converge), the dispatch's own AC check finding a voltage below
    ``v_min_pu``, or a restoration-readiness problem (a plan failing AC verification, load a
    single fault leaves unserved, readiness that could not run);
``ok``
    none of these.

The same numbers feed the key figures: :func:`lowest_voltage` is the lowest AC voltage of the run,
whether it came from the health power flows or from the dispatch's AC check recorded in
``run.json`` (``feeders.<name>.network.v_min_pu``).
"""

from __future__ import annotations

import ast
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from gridai.pipelines.dayahead.report_clock import Clock

Level = Literal["fallback", "warning"]

#: Topics of the banner, in the order they are listed.
TOPICS = ("fallbacks", "network health", "dispatch AC check", "restoration readiness", "run warnings")

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?")


@dataclass(frozen=True)
class StatusItem:
    """One line of the banner."""

    level: Level
    topic: str
    text: str
    feeder: str | None = None


@dataclass
class RunStatus:
    """Everything the banner lists; ``state`` is the worst of them."""

    items: list[StatusItem] = field(default_factory=list)

    @property
    def state(self) -> Literal["ok", "warnings", "fallbacks"]:
        if any(i.level == "fallback" for i in self.items):
            return "fallbacks"
        return "warnings" if self.items else "ok"

    def count(self, level: Level) -> int:
        return sum(i.level == level for i in self.items)


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


def _finite(v: Any) -> bool:
    return bool(np.isfinite(_num(v)))


def _as_list(v: Any) -> list[Any]:
    """A list recorded in run.json, possibly as its Python repr (``"['a', 'b']"``)."""
    if isinstance(v, list | tuple):
        return list(v)
    if isinstance(v, str) and v.strip():
        try:
            parsed = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            return [v]
        return list(parsed) if isinstance(parsed, list | tuple) else [parsed]
    return []


def _fallback_items(manifest: Mapping[str, Any]) -> list[StatusItem]:
    out = []
    for f in manifest.get("fallbacks", []) or []:
        where = f" [{f['feeder']}]" if f.get("feeder") else ""
        out.append(
            StatusItem(
                "fallback",
                "fallbacks",
                f"{f.get('kind')} in {f.get('step')}{where}: {f.get('reason')}",
                f.get("feeder"),
            )
        )
    return out


def _health_items(
    health: pd.DataFrame, clock: Clock, v_min_pu: float, loading_max_pct: float
) -> list[StatusItem]:
    """Red flags of ``network_health.csv``, one line per feeder and kind, naming case and times."""
    if health.empty:
        return []
    out: list[StatusItem] = []
    for feeder, g in health.groupby("feeder", sort=True):
        conv = g["converged"].astype(bool)
        if (~conv).any():
            bad = g[~conv]
            cases = ", ".join(
                f"{c} at {clock.hour(t)}" for c, t in zip(bad["case"], bad["time"], strict=True)
            )
            out.append(StatusItem("warning", "network health", f"{feeder}: power flow did not converge ({cases})",
                                  str(feeder)))  # fmt: skip
        ok = g[conv]
        low = ok[ok["v_min_pu"].astype(float) < v_min_pu]
        if len(low):
            parts = []
            for case, c in low.groupby("case", sort=False):
                w = c.iloc[int(np.nanargmin(c["v_min_pu"].map(_num).to_numpy()))]
                times = ", ".join(clock.hour(t) for t in c["time"])
                n = int(_num(w.get("n_low_voltage", 0)) or 0)
                parts.append(f"{case} at {times} (lowest {float(w['v_min_pu']):.3f} pu at bus {w['v_min_bus']}, "
                             f"{n} buses below)")  # fmt: skip
            clear = sorted(set(ok["case"]) - set(low["case"]))
            tail = f"; within the limit in {', '.join(clear)}" if clear else ""
            out.append(StatusItem("warning", "network health",
                                  f"{feeder}: voltage below {v_min_pu:g} pu in " + "; ".join(parts) + tail,
                                  str(feeder)))  # fmt: skip
        load = ok["loading_max_pct"].map(_num)
        over = ok[load > loading_max_pct]
        if len(over):
            parts = []
            for case, c in over.groupby("case", sort=False):
                w = c.iloc[int(np.nanargmax(c["loading_max_pct"].map(_num).to_numpy()))]
                times = ", ".join(clock.hour(t) for t in c["time"])
                parts.append(
                    f"{case} at {times} ({w['loading_max_element']} at {_num(w['loading_max_pct']):.0f} %)"
                )
            out.append(StatusItem("warning", "network health",
                                  f"{feeder}: loading above {loading_max_pct:g} % in " + "; ".join(parts),
                                  str(feeder)))  # fmt: skip
    return out


def _dispatch_check_items(manifest: Mapping[str, Any], clock: Clock, v_min_pu: float) -> list[StatusItem]:
    """The dispatch's AC check of its own schedule (run.json ``feeders.<f>.network``)."""
    out = []
    for feeder, rec in sorted((manifest.get("feeders") or {}).items()):
        net = (rec or {}).get("network") or {}
        v = _num(net.get("v_min_pu"))
        when = [clock.hour(m.group(0)) for m in _TIME.finditer(str(net.get("ac_checked_intervals", "")))]
        at = f" at {' or '.join(when)}" if when else ""
        if np.isfinite(v) and v < v_min_pu:
            limit = net.get("v_min_limit_pu")
            out.append(StatusItem("warning", "dispatch AC check",
                                  f"{feeder}: the AC check of the schedule (p50, batteries as dispatched) finds "
                                  f"{v:.3f} pu{at}, below {v_min_pu:g} pu"
                                  + (f" (the dispatch's own limit is {limit} pu)" if limit is not None else ""),
                                  feeder))  # fmt: skip
        for viol in _as_list(net.get("violations")):
            out.append(StatusItem("warning", "dispatch AC check", f"{feeder}: {viol}", feeder))
    return out


def _readiness_items(summary: pd.DataFrame) -> list[StatusItem]:
    out: list[StatusItem] = []
    if summary.empty:
        return out
    for r in summary.to_dict("records"):
        f = str(r["feeder"])
        problem = r.get("problem")
        if isinstance(problem, str) and problem:
            out.append(
                StatusItem("warning", "restoration readiness", f"{f}: readiness not assessed: {problem}", f)
            )
        nv = _num(r.get("not_verified"))
        if np.isfinite(nv) and nv > 0:
            out.append(StatusItem("warning", "restoration readiness",
                                  f"{f}: {int(nv)} of {int(_num(r.get('faults')))} restoration plans fail AC "
                                  "verification", f))  # fmt: skip
        unserved = _num(r.get("worst_unserved_kw"))
        if np.isfinite(unserved) and unserved > 0.5:
            why = str(r.get("worst_fault_explained") or "").split(";")[0][:160]
            out.append(StatusItem("warning", "restoration readiness",
                                  f"{f}: a fault on line {r.get('worst_fault_line')} at the peak leaves "
                                  f"{unserved:,.0f} kW unserved ({_num(r.get('worst_restored_pct')):.0f} % of the "
                                  "interrupted load restored)" + (f": {why}" if why else ""), f))  # fmt: skip
    return out


def run_status(
    manifest: Mapping[str, Any],
    health: pd.DataFrame,
    readiness_summary: pd.DataFrame,
    clock: Clock,
    v_min_pu: float,
    loading_max_pct: float,
) -> RunStatus:
    """Every fallback, warning, red health flag and readiness problem of the run."""
    items = [
        *_fallback_items(manifest),
        *_health_items(health, clock, v_min_pu, loading_max_pct),
        *_dispatch_check_items(manifest, clock, v_min_pu),
        *_readiness_items(readiness_summary),
        *(StatusItem("warning", "run warnings", str(w)) for w in manifest.get("warnings", []) or []),
    ]
    return RunStatus(items)


def lowest_voltage(
    health: pd.DataFrame, manifest: Mapping[str, Any], clock: Clock
) -> tuple[float, str] | None:
    """The run's lowest AC bus voltage [pu] and where it is, over the health power flows and the
    dispatch's AC check (the same numbers as ``network_health.csv`` and ``run.json``)."""
    best: tuple[float, str] | None = None
    if not health.empty:
        ok = health[health["converged"].astype(bool)]
        if len(ok):
            r = ok.iloc[int(np.nanargmin(ok["v_min_pu"].map(_num).to_numpy()))]
            best = (
                float(r["v_min_pu"]),
                f"{r['feeder']} bus {r['v_min_bus']}, {r['case']} at {clock.hour(r['time'])}",
            )
    for feeder, rec in sorted((manifest.get("feeders") or {}).items()):
        net = (rec or {}).get("network") or {}
        v = _num(net.get("v_min_pu"))
        if np.isfinite(v) and (best is None or v < best[0]):
            when = [clock.hour(m.group(0)) for m in _TIME.finditer(str(net.get("ac_checked_intervals", "")))]
            best = (
                v,
                f"{feeder}, dispatch AC check (p50, as dispatched)"
                + (f" at {' or '.join(when)}" if when else ""),
            )
    return best


def highest_loading(health: pd.DataFrame, clock: Clock) -> tuple[float, str] | None:
    """The highest loading of a rated branch [%] in the health power flows, and where it is."""
    if health.empty:
        return None
    ok = health[health["converged"].astype(bool)]
    load = ok["loading_max_pct"].map(_num)
    if not load.notna().any():
        return None
    r = ok.iloc[int(np.nanargmax(load.to_numpy()))]
    where = f"{r['feeder']} {r['loading_max_element']}, {r['case']} at {clock.hour(r['time'])}"
    return float(load.max()), where


def banner(status: RunStatus, manifest: Mapping[str, Any]) -> str:
    """The banner: the state, the model used, and every item grouped by topic."""
    model = manifest.get("model", {}) or {}
    e = html.escape
    state = status.state
    head = (
        f"<div class='state'>{e(state.upper())}</div>"
        f"<div>Run status {e(str(manifest.get('status', '?')))}, model <b>{e(str(model.get('used', '?')))}</b>"
        + (" <b>(SUBSTITUTED)</b>" if model.get("substituted") else "")
        + f" &middot; {status.count('fallback')} fallback(s), {status.count('warning')} warning(s)</div>"
    )
    if not status.items:
        body = "<p>No fallback, no warning, no red health flag, no readiness problem.</p>"
    else:
        groups = []
        for topic in TOPICS:
            its = [i for i in status.items if i.topic == topic]
            if its:
                lis = "".join(f"<li>{e(i.text)}</li>" for i in its)
                groups.append(f"<h3>{e(topic[:1].upper() + topic[1:])} ({len(its)})</h3><ul>{lis}</ul>")
        body = "".join(groups)
    return f"<div class='banner {state}' id='status' data-state='{state}'>{head}{body}</div>"
