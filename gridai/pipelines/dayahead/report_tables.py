"""HTML tables of the day-ahead report: feeders (all of them), health, readiness, costs, set-up.

Charts are drawn for the most exposed feeders only (``report.max_feeder_charts``); these tables
list every feeder, so the report's size grows with the feeder count only by table rows.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gridai.forecast.quantiles import MEDIAN, quantile_column
from gridai.pipelines.dayahead.report_clock import Clock

Highlight = Mapping[str, Callable[[Any], bool]]


def isnan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NaT


def as_float(v: Any) -> float:
    """``v`` as a float; NaN when it is missing or not a number."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def table(
    df: pd.DataFrame,
    highlight: Highlight | None = None,
    floatfmt: str = "{:.3f}",
    *,
    empty: str = "none",
    css: str = "",
    notes: Highlight | None = None,
) -> str:
    """``df`` as an HTML table; cells for which ``highlight[column](value)`` is true are marked bad,
    those for which ``notes[column](value)`` is true are marked as a note (a default, not a problem)."""
    if df.empty:
        return f"<p class='muted'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, row, strict=True):
            if isinstance(v, float | np.floating) and np.isfinite(v):
                txt = floatfmt.format(v)
            else:
                txt = "" if isnan(v) else str(v)
            bad = bool(highlight and c in highlight and not isnan(v) and highlight[c](v))
            note = bool(notes and c in notes and not isnan(v) and notes[c](v))
            cls = " class=bad" if bad else (" class=note" if note else "")
            cells.append(f"<td{cls}>{html.escape(txt)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = f" class='{css}'" if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def health_table(summary: pd.DataFrame, clock: Clock) -> pd.DataFrame:
    """The health summary with its case and local time per worst value; unrated loading spelt out."""
    if summary.empty:
        return summary
    from gridai.grid.health import SUMMARY_COLUMNS

    s = summary.reindex(columns=list(dict.fromkeys([*SUMMARY_COLUMNS, *summary.columns])))

    def at(case: Any, t: Any) -> str:
        return f"{case} {clock.hour(t)}" if isinstance(case, str) and case else ""

    s["v_min_at"] = [at(c, t) for c, t in zip(s["v_min_case"], s["v_min_time"], strict=True)]
    s["loading_at"] = [at(c, t) for c, t in zip(s["loading_case"], s["loading_time"], strict=True)]
    converged = s["v_min_pu"].notna()
    unrated = converged & s["loading_max_pct"].isna()
    s["loading_max_element"] = s["loading_max_element"].where(~unrated, "no rated branch")
    cols = ["feeder", "v_min_pu", "v_min_bus", "v_min_at", "loading_max_pct", "loading_max_element",
            "loading_at", "losses_kw_peak", "flags"]  # fmt: skip
    return s[[c for c in cols if c in s.columns]]


def feeder_table(
    forecasts: Mapping[str, pd.DataFrame],
    feeders: Sequence[str],
    summary: pd.DataFrame,
    schedules: pd.DataFrame,
    charted: Sequence[str],
    status_count: Mapping[str, int],
    clock: Clock,
) -> pd.DataFrame:
    """One row per feeder: its p50 peak (value, time, p90 there), energy, worst voltage, batteries."""
    health = summary.set_index("feeder") if not summary.empty else pd.DataFrame()
    n_assets = schedules.groupby("feeder")["asset"].nunique() if len(schedules) else pd.Series(dtype=int)
    rows = []
    for rank, name in enumerate(feeders, start=1):
        fc = forecasts[name]
        med = quantile_column(fc, MEDIAN)
        k = int(np.argmax(med.to_numpy()))
        hi = max(float(q) for q in fc.columns)
        step_h = _step_h(fc.index)
        h = health.loc[name] if name in health.index else None
        rows.append({
            "rank": rank, "feeder": name,
            "p50 peak kW": float(med.iloc[k]), "at": clock.hour(fc.index[k]),
            f"p{round(hi * 100)} then kW": float(quantile_column(fc, hi).iloc[k]),
            "p50 energy MWh": float(med.sum()) * step_h / 1000.0,
            "v_min_pu": as_float(h["v_min_pu"]) if h is not None else float("nan"),
            "loading %": as_float(h["loading_max_pct"]) if h is not None else float("nan"),
            "batteries": int(n_assets.get(name, 0)),
            "banner items": int(status_count.get(name, 0)),
            "charted": "yes" if name in charted else "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def _step_h(index: Any) -> float:
    t = pd.DatetimeIndex(index)
    return float((t[1] - t[0]) / pd.Timedelta(hours=1)) if len(t) > 1 else 1.0


def setup_tables(feeder_setup: pd.DataFrame, batteries: pd.DataFrame) -> list[str]:
    """How each feeder's load was scaled and which batteries it has, defaults named as such."""
    parts = []
    if not feeder_setup.empty:
        parts += [
            "<h3>Feeder load scaling</h3>",
            "<p class='muted'>feeder demand = series forecast &times; peak_kw / reference_kw, where reference_kw is "
            "the series' highest load in the history window and peak_kw the feeder's peak (config "
            "<code>feeders[].peak_kw</code>, else <code>peak_fraction</code> &times; the network's nominal load).</p>",
            table(feeder_setup, None, "{:,.1f}", notes={"peak_kw from": lambda v: "(default)" in str(v)}),
        ]
    if not batteries.empty:
        parts += [
            "<h3>Batteries as dispatched</h3>",
            "<p class='muted'>Sizes and buses as resolved for this run; <b>default</b> marks a value the feeder's "
            "config did not give (a battery added because the feeder lists none, the farthest bus, 20 % of the "
            "forecast peak, 4 h of energy).</p>",
            table(batteries, None, "{:,.1f}", notes={"defaults": lambda v: bool(v)}),
        ]
    return parts
