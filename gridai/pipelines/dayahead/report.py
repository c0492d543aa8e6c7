"""The day-ahead report: one self-contained HTML file a dispatcher can open from disk at 7 am.

The file references no external URL: the interactive charts (zoom, pan, hover) are plotly.js,
whose bundle is inlined once (:mod:`gridai.pipelines.dayahead.report_charts`). Every time shown is
local wall-clock time of the data's zone, named in the header
(:mod:`gridai.pipelines.dayahead.report_clock`). Layout, top to bottom:

1. a banner with the run's state, ``ok`` / ``warnings`` / ``fallbacks``, and the list of every
   fallback, warning, red health flag and readiness problem behind it
   (:mod:`gridai.pipelines.dayahead.report_status`);
2. key figures, each naming its case (quantile, before or after dispatch) and its time;
3. the system forecast fan with recent actuals, its peak marked; yesterday's forecast against
   yesterday's actual;
4. the battery dispatch of all feeders with state of charge and the tariff behind the charging;
5. for the ``max_feeder_charts`` most exposed feeders (most banner items, then lowest voltage):
   demand fan and batteries; a table of every feeder; network health, restoration readiness and
   costs tables;
6. the set-up as run: each feeder's load scaling and batteries, defaults named as such.

Charts are drawn for a bounded number of feeders, so the rendering cost does not grow with the
feeder count beyond table rows.
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridai.forecast.quantiles import MEDIAN, quantile_column
from gridai.pipelines.dayahead.report_charts import (
    ChartWriter,
    asset_figure,
    dispatch_figure,
    fan_figure,
    forecast_scores,
    previous_day_figure,
)
from gridai.pipelines.dayahead.report_clock import Clock
from gridai.pipelines.dayahead.report_status import (
    RunStatus,
    banner,
    highest_loading,
    lowest_voltage,
    run_status,
)
from gridai.pipelines.dayahead.report_tables import (
    as_float,
    feeder_table,
    health_table,
    setup_tables,
    table,
)

logger = logging.getLogger(__name__)


@dataclass
class PreviousDay:
    """Yesterday (D-1): the system forecast made for it, its actual, and which forecast that is."""

    date: str
    forecast: pd.DataFrame | None
    """Index time (naive UTC), columns quantile levels [kW]; None: no forecast of D-1 available."""
    actual: pd.Series | None
    what: str
    """Plain words: which forecast this is (published by the run of D-1, or made now); the chart title."""
    note: str = ""
    """Caveats of that forecast (shown under the chart's heading)."""


@dataclass
class ReportData:
    """Everything the report shows (powers in kW, energies in kWh, times naive UTC)."""

    date: str
    title: str
    forecasts: Mapping[str, pd.DataFrame]
    """Per series (``system`` first, then feeders): index time, columns quantile levels [kW]."""
    actuals: Mapping[str, pd.Series] = field(default_factory=dict)
    """Per series: recent actual load [kW] (before D, and D itself when known)."""
    schedules: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Columns feeder, asset, time, p_kw (discharge > 0), soc_kwh."""
    health: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Rows of ``network_health.csv`` (:func:`gridai.grid.health.health_frame`)."""
    health_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    readiness_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per feeder: N-1 restoration at the peak (see :mod:`gridai.pipelines.dayahead.readiness`); empty: not run."""
    manifest: Mapping[str, Any] = field(default_factory=dict)
    max_feeder_charts: int = 6
    """Feeders charted individually (most exposed first); the rest are table rows."""
    timezone: str = "UTC"
    """IANA zone of every time shown (the data's time zone)."""
    prices: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    """Energy price per interval of D [$/kWh] (the tariff the batteries respond to)."""
    previous: PreviousDay | None = None
    feeder_setup: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per feeder: network, series, reference_kw, peak_kw and where it came from (config or default)."""
    batteries: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per battery as resolved: feeder, asset, bus, power_kw, energy_kwh, configured, defaults."""
    v_min_pu: float = 0.95
    """Health flag: buses below this voltage [pu]."""
    loading_max_pct: float = 100.0
    """Health flag: branches above this loading [%]."""


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#1a202c;max-width:1280px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0}
h3{font-size:14px;margin:10px 0 4px}
.muted{color:#718096} .banner{padding:10px 14px;border-radius:6px;margin:12px 0}
.banner .state{font-size:20px;font-weight:700;letter-spacing:.04em}
.banner.ok{background:#f0fff4;border:2px solid #38a169} .banner.ok .state{color:#276749}
.banner.warnings{background:#fffaf0;border:2px solid #dd6b20} .banner.warnings .state{color:#c05621}
.banner.fallbacks{background:#fff5f5;border:2px solid #e53e3e} .banner.fallbacks .state{color:#c53030}
.banner ul{margin:2px 0 6px 18px;padding:0} .banner li{margin:1px 0}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:10px}
.kpi{border:1px solid #e2e8f0;border-radius:6px;padding:8px 12px}
.kpi .what{font-size:12px;color:#4a5568} .kpi b{display:block;font-size:19px;margin:2px 0}
.kpi .case{font-size:12px;color:#2d3748}
table{border-collapse:collapse;font-size:12px;margin:6px 0}
th,td{border:1px solid #e2e8f0;padding:3px 7px;text-align:right} th{background:#f7fafc}
td:first-child,th:first-child{text-align:left} td.bad{background:#fed7d7;font-weight:600}
td.note{background:#fefcbf}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px} .chart{min-width:0}
code{background:#f7fafc;padding:0 3px}
"""


def exposure_order(feeders: Sequence[str], summary: pd.DataFrame, status: RunStatus) -> list[str]:
    """Feeders most exposed first: most banner items, then lowest voltage, then highest loading."""
    items = Counter(i.feeder for i in status.items if i.feeder)
    h = summary.set_index("feeder") if not summary.empty else pd.DataFrame()

    def key(name: str) -> tuple[float, float, float, str]:
        v = as_float(h.at[name, "v_min_pu"]) if name in h.index else float("nan")
        ld = as_float(h.at[name, "loading_max_pct"]) if name in h.index else float("nan")
        return (-items.get(name, 0), v if np.isfinite(v) else -1.0, -ld if np.isfinite(ld) else 0.0, name)

    return sorted(feeders, key=key)


def mw(p_kw: float) -> str:
    """A power [kW] in MW with three significant figures or more: ``2,320 MW``, ``19.9 MW``."""
    v = float(p_kw) / 1000.0
    return f"{v:,.0f} MW" if abs(v) >= 100 else f"{v:,.3g} MW"


def _kpi(what: str, value: str, case: str) -> str:
    e = html.escape
    return f"<div class='kpi'><div class='what'>{e(what)}</div><b>{e(value)}</b><div class='case'>{e(case)}</div></div>"


def key_figures(data: ReportData, clock: Clock, feeders: Sequence[str]) -> str:
    """The cards: each names its case (quantile, before/after dispatch) and its time."""
    cards = []
    fc = data.forecasts.get("system")
    if fc is not None and len(fc):
        med = quantile_column(fc, MEDIAN)
        k = int(np.argmax(med.to_numpy()))
        t = pd.DatetimeIndex(fc.index)[k]
        hi = max(float(q) for q in fc.columns)
        p_hi = float(quantile_column(fc, hi).iloc[k])
        cards.append(_kpi("System peak, forecast p50 (before dispatch)", f"{mw(med.iloc[k])} at {clock.hour(t)}",
                          f"p{round(hi * 100)} then: {mw(p_hi)}; {clock.label(t, '%a %d %b')}"))  # fmt: skip
        step_h = (fc.index[1] - fc.index[0]) / pd.Timedelta(hours=1) if len(fc) > 1 else 1.0
        cards.append(_kpi("System energy, forecast p50", f"{med.sum() * step_h / 1000:,.0f} MWh",
                          f"day D from {clock.label(fc.index[0])}, {clock.day_hours(fc.index):g} h"))  # fmt: skip
    if not data.costs.empty and "total" in data.costs:
        saving = float(data.costs["saving"].sum()) if "saving" in data.costs else float("nan")
        cards.append(_kpi("Cost of the day, p50 demand net of batteries", f"$ {data.costs['total'].sum():,.0f}",
                          f"dispatched; saving vs no battery $ {saving:,.0f}"))  # fmt: skip
    low = lowest_voltage(data.health, data.manifest, clock)
    if low is not None:
        flag = " (below limit)" if low[0] < data.v_min_pu else ""
        cards.append(_kpi("Lowest bus voltage, AC power flow", f"{low[0]:.3f} pu{flag}", low[1]))
    high = highest_loading(data.health, clock)
    unrated = _unrated_feeders(data.health)
    note = f"; no rated branch on {', '.join(unrated)}" if unrated else ""
    if high is not None:
        cards.append(_kpi("Highest branch loading (rated branches)", f"{high[0]:.1f} %", high[1] + note))
    elif unrated:
        cards.append(_kpi("Highest branch loading", "n/a", "no rated branch on " + ", ".join(unrated)))
    n_bat = int(data.schedules.groupby(["feeder", "asset"]).ngroups) if len(data.schedules) else 0
    n_def = int((data.batteries["defaults"] != "").sum()) if "defaults" in data.batteries else 0
    cards.append(_kpi("Feeders and batteries", f"{len(feeders)} feeders, {n_bat} batteries",
                      f"{n_def} batteries with defaulted settings (see set-up)" if n_def else "all as configured"))  # fmt: skip
    return f"<div class='kpis'>{''.join(cards)}</div>"


def _unrated_feeders(health: pd.DataFrame) -> list[str]:
    if health.empty:
        return []
    ok = health[health["converged"].astype(bool)]
    na = ok.groupby("feeder")["loading_max_pct"].apply(
        lambda s: bool(pd.to_numeric(s, errors="coerce").isna().all())
    )
    return [str(f) for f, v in na.items() if v]


def _previous_section(data: ReportData, clock: Clock, charts: ChartWriter) -> list[str]:
    p = data.previous
    if p is None:
        return []
    head = f"<h2>Yesterday ({html.escape(p.date)}): forecast against actual</h2>"
    if p.forecast is None:
        return [head, f"<p class='muted'>{html.escape(p.what)}</p>"]
    scores = forecast_scores(p.forecast, p.actual) if p.actual is not None else {}
    score = (
        f"; p50 MAPE {scores['mape_pct']:.1f} %, p{round(scores['band_lo'] * 100)}-p{round(scores['band_hi'] * 100)} "
        f"band held the actual {scores['coverage'] * 100:.0f} % of the time"
        if "coverage" in scores
        else ""
    )
    title = f"System load [MW], {p.date}: {p.what}<br>{score.lstrip('; ')}"
    fig = previous_day_figure(clock, p.forecast, p.actual, title)
    return [
        head,
        f"<p class='muted'>Forecast shown: {html.escape(p.what)}. {html.escape(p.note)}</p>",
        charts.render(fig, "previous-day"),
    ]


def _feeder_section(
    data: ReportData, clock: Clock, charts: ChartWriter, order: list[str], status: RunStatus
) -> list[str]:
    charted = order[: data.max_feeder_charts]
    parts = [
        "<h2>Most exposed feeders</h2>",
        f"<p class='muted'>{len(charted)} of {len(order)} feeders charted (report.max_feeder_charts = "
        f"{data.max_feeder_charts}): most banner items first, then lowest voltage, then highest loading. "
        "Left: demand forecast with the scaled actuals; right: each battery's power (solid) and state of charge "
        "(dotted), the tariff's peak window shaded.</p>",
    ]
    for name in charted:
        fc = data.forecasts[name]
        title = f"{name}: demand [kW] (bands, p50; black: scaled actual)"
        fan = fan_figure(clock, fc, data.actuals.get(name), title, height=300 + 22, legend=False)
        s = data.schedules[data.schedules["feeder"] == name] if len(data.schedules) else data.schedules
        assets = asset_figure(clock, s, data.prices, f"{name}: batteries, p50 dispatch") if len(s) else None
        parts.append(
            f"<div class='pair'>{charts.render(fan, f'feeder-{name}')}{charts.render(assets, f'assets-{name}')}</div>"
        )
    counts = Counter(i.feeder for i in status.items if i.feeder)
    ft = feeder_table(data.forecasts, order, data.health_summary, data.schedules, charted, counts, clock)
    hl = {"v_min_pu": lambda v: float(v) < data.v_min_pu, "loading %": lambda v: float(v) > data.loading_max_pct,
          "banner items": lambda v: int(v) > 0}  # fmt: skip
    parts += ["<h3>Every feeder, most exposed first</h3>", table(ft, hl, "{:,.3f}", css="feeders")]
    return parts


def _readiness_section(data: ReportData) -> list[str]:
    if data.readiness_summary.empty:
        return []
    hl = {
        "worst_restored_pct": lambda v: float(v) < 50.0,
        "worst_unserved_kw": lambda v: float(v) > 0.5,
        "not_verified": lambda v: int(v) > 0,
        "problem": lambda v: bool(v),
    }
    return [
        "<h2>Restoration readiness (single-line faults at the peak)</h2>",
        "<p class='muted'>FLISR plans for the faults interrupting the most load, with loads at the forecast "
        "peak; most exposed feeder first. Highlighted: worst fault restores under 50 % of what it "
        "interrupts or leaves load unserved, plans failing verification. Every plan: restoration_readiness.csv.</p>",
        table(data.readiness_summary.head(50), hl),
    ]


def render_report(
    data: ReportData, v_min_pu: float | None = None, loading_max_pct: float | None = None
) -> str:
    """The report as one HTML string (no external references; plotly.js inlined once)."""
    if v_min_pu is not None:
        data.v_min_pu = v_min_pu
    if loading_max_pct is not None:
        data.loading_max_pct = loading_max_pct
    m = data.manifest
    clock = Clock(data.timezone)
    charts = ChartWriter()
    status = run_status(m, data.health, data.readiness_summary, clock, data.v_min_pu, data.loading_max_pct)
    feeders = [n for n in data.forecasts if n != "system"]
    order = exposure_order(feeders, data.health_summary, status)
    sysfc = data.forecasts.get("system")
    zone = clock.zone_note(sysfc.index if sysfc is not None else [])
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(data.title)} {e(data.date)}</title><style>{CSS}</style></head><body>",
        f"<h1>{e(data.title)} - {e(data.date)}</h1>",
        f"<p class='muted'>gridai {e(str(m.get('gridai_version', '')))}, run {e(str(m.get('run_id', ''))[:12])}. "
        + (
            f"<b>All times are local time of {e(zone)}</b>, the data's time zone.</p>"
            if zone != "UTC"
            else "<b>All times are UTC</b>, the data's time zone.</p>"
        ),  # fmt: skip
        banner(status, m),
        key_figures(data, clock, feeders),
        "<h2>System forecast</h2>",
        "<p class='muted'>Quantile bands and the median (p50) for D, the actual load of the days before (and of "
        "D when known); drag to zoom, double-click to reset, hover for values.</p>",
    ]
    if sysfc is not None:
        parts.append(charts.render(fan_figure(clock, sysfc, data.actuals.get("system"), "System load [MW]",
                                              scale=1000.0, unit="MW", digits=2, height=420), "system"))  # fmt: skip
    parts += _previous_section(data, clock, charts)
    parts += [
        "<h2>Battery dispatch: all feeders</h2>",
        "<p class='muted'>Aggregate power of every battery (discharge &gt; 0) for the median forecast, the tariff "
        "it responds to (right axis; its peak window shaded) and the aggregate state of charge.</p>",
        charts.render(
            dispatch_figure(
                clock,
                data.schedules,
                data.prices,
                "Batteries: power [kW], tariff [$/kWh] and state of charge [kWh]",
            ),
            "dispatch",
        ),  # fmt: skip
    ]
    parts += _feeder_section(data, clock, charts, order, status)
    hl = {
        "v_min_pu": lambda v: float(v) < data.v_min_pu,
        "loading_max_pct": lambda v: float(v) > data.loading_max_pct,
        "flags": lambda v: bool(v),
    }
    parts += [
        "<h2>Network health (AC power flow at the peak intervals)</h2>",
        f"<p class='muted'>Worst case per feeder over p50 and the upper quantile before dispatch and p50 with the "
        f"batteries as dispatched; highlighted: voltage below {data.v_min_pu:g} pu, loading above "
        f"{data.loading_max_pct:g} % (rated branches only). Every case: network_health.csv.</p>",
        table(health_table(data.health_summary, clock).head(50), hl),
        *_readiness_section(data),
        "<h2>Costs per feeder</h2>",
        table(data.costs.head(50), None, "{:,.2f}"),
        "<h2>Set-up as run</h2>",
        *setup_tables(data.feeder_setup, data.batteries),
        "</body></html>",
    ]
    return "\n".join(parts)
