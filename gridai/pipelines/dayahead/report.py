"""The day-ahead report: one self-contained HTML file a dispatcher can open from disk.

Charts are drawn with matplotlib's object API (no pyplot global state) and embedded as
base64 PNG; the file references no external URL (no CDN, fonts or scripts). Layout, top
to bottom: a status banner listing every fallback and warning, key figures, the system
forecast with quantile bands and recent actuals, feeder forecasts (small multiples), the
VPP aggregate and per-asset dispatch with state of charge, the network health table with
the worst buses/lines highlighted, and costs per feeder.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridai.forecast.quantiles import MEDIAN, quantile_column

logger = logging.getLogger(__name__)

BAND_COLOR = "#2b6cb0"
ACTUAL_COLOR = "#1a202c"


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
    health_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    readiness_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Per feeder: N-1 restoration at the peak (see :mod:`gridai.pipelines.dayahead.readiness`); empty: not run."""
    manifest: Mapping[str, Any] = field(default_factory=dict)
    max_feeder_charts: int = 12


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(w: float, h: float, nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _fan(ax: Any, fc: pd.DataFrame, actual: pd.Series | None, title: str, *, legend: bool = False) -> None:
    levels = sorted(float(q) for q in fc.columns)
    cols = {float(q): q for q in fc.columns}
    x = pd.DatetimeIndex(fc.index)
    pairs = [(lo, 1 - lo) for lo in levels if lo < 0.5 and any(abs((1 - lo) - h) < 1e-9 for h in levels)]
    for i, (lo, hi) in enumerate(sorted(pairs)):
        ax.fill_between(
            x,
            fc[cols[lo]],
            quantile_column(fc, hi),
            color=BAND_COLOR,
            alpha=0.12 + 0.1 * i,
            lw=0,
            label=f"{round(lo * 100)}-{round(hi * 100)} %" if legend else None,
        )
    med = quantile_column(fc, MEDIAN)
    ax.plot(x, med, color=BAND_COLOR, lw=1.8, label="forecast median" if legend else None)
    if actual is not None and len(actual):
        before = actual[actual.index < x[0]]
        during = actual[(actual.index >= x[0]) & (actual.index <= x[-1])]
        ax.plot(before.index, before.values, color=ACTUAL_COLOR, lw=1.0, label="actual" if legend else None)
        if len(during):
            ax.plot(
                during.index,
                during.values,
                color="#c53030",
                lw=1.2,
                ls="--",
                label="actual on D (known afterwards)" if legend else None,
            )
    ax.axvline(x[0], color="#718096", lw=0.8, ls=":")
    ax.set_title(title, fontsize=9, loc="left")
    _time_axis(ax)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.25)
    if legend:
        ax.legend(fontsize=7, loc="upper left", ncols=3)


def _time_axis(ax: Any, max_ticks: int = 6) -> None:
    """Hourly ticks at a round step giving at most ``max_ticks`` labels (call after plotting)."""
    from matplotlib.dates import DateFormatter, HourLocator, num2date

    lo, hi = ax.get_xlim()
    span_h = max((num2date(hi) - num2date(lo)).total_seconds() / 3600.0, 1.0)
    step = next((s for s in (1, 2, 3, 6, 12, 24) if span_h / s <= max_ticks), 48)
    if step >= 24:
        ax.xaxis.set_major_locator(HourLocator(byhour=[0]))
        ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
    else:
        ax.xaxis.set_major_locator(HourLocator(byhour=list(range(0, 24, step))))
        ax.xaxis.set_major_formatter(DateFormatter("%d %b %H:%M"))


def system_chart(data: ReportData) -> str:
    fig, axes = _figure(11, 3.6)
    fc = data.forecasts.get("system")
    if fc is None:
        return ""
    _fan(axes[0, 0], fc / 1000.0, _mw(data.actuals.get("system")), "System load [MW]", legend=True)
    return _png(fig)


def _mw(s: pd.Series | None) -> pd.Series | None:
    return None if s is None else s / 1000.0


def feeder_charts(data: ReportData, names: Sequence[str]) -> str:
    if not names:
        return ""
    ncols = 3
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = _figure(11, 2.3 * nrows, nrows, ncols)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(names):
            ax.set_visible(False)
            continue
        name = names[k]
        _fan(ax, data.forecasts[name], data.actuals.get(name), f"{name} [kW]")
        ax.tick_params(axis="x", labelrotation=30)
    return _png(fig)


def vpp_chart(data: ReportData) -> str:
    s = data.schedules
    if s.empty:
        return ""
    p = s.pivot_table(index="time", columns=["feeder", "asset"], values="p_kw", aggfunc="sum").sort_index()
    soc = s.pivot_table(
        index="time", columns=["feeder", "asset"], values="soc_kwh", aggfunc="sum"
    ).sort_index()
    fig, axes = _figure(11, 4.2, 2, 1, sharex=True)
    x = pd.DatetimeIndex(p.index)
    width = (x[1] - x[0]) * 0.8 if len(x) > 1 else pd.Timedelta(hours=0.8)
    total = p.sum(axis=1)
    ax = axes[0, 0]
    ax.bar(x, total.clip(lower=0), width=width, color="#2f855a", label="discharge")
    ax.bar(x, total.clip(upper=0), width=width, color="#c05621", label="charge")
    ax.axhline(0, color="#4a5568", lw=0.6)
    ax.set_title(f"VPP aggregate power, {p.shape[1]} batteries [kW] (discharge > 0)", fontsize=9, loc="left")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.25)
    ax2 = axes[1, 0]
    ax2.plot(x, soc.sum(axis=1), color="#553c9a", lw=1.6)
    ax2.set_title("VPP aggregate state of charge [kWh]", fontsize=9, loc="left")
    ax2.grid(alpha=0.25)
    for a in (ax, ax2):
        a.tick_params(labelsize=7)
    _time_axis(ax2)
    return _png(fig)


def asset_charts(data: ReportData, feeders: Sequence[str]) -> str:
    s = data.schedules
    if s.empty or not feeders:
        return ""
    s = s[s["feeder"].isin(feeders)]
    assets = sorted({(f, a) for f, a in zip(s["feeder"], s["asset"], strict=True)})
    if not assets:
        return ""
    ncols = 3
    nrows = int(np.ceil(len(assets) / ncols))
    fig, axes = _figure(11, 2.2 * nrows, nrows, ncols)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(assets):
            ax.set_visible(False)
            continue
        f, a = assets[k]
        g = s[(s["feeder"] == f) & (s["asset"] == a)].sort_values("time")
        x = pd.DatetimeIndex(g["time"])
        ax.step(x, g["p_kw"], where="post", color="#2f855a", lw=1.2)
        ax.axhline(0, color="#4a5568", lw=0.5)
        ax.set_title(f"{f} / {a}: power [kW] and SoC [kWh]", fontsize=8, loc="left")
        _time_axis(ax, 4)
        ax.tick_params(labelsize=6, axis="both")
        ax.tick_params(axis="x", labelrotation=30)
        tw = ax.twinx()
        tw.plot(x, g["soc_kwh"], color="#553c9a", lw=1.2)
        tw.tick_params(labelsize=6)
    return _png(fig)


def _table(df: pd.DataFrame, highlight: Mapping[str, Any] | None = None, floatfmt: str = "{:.3f}") -> str:
    if df.empty:
        return "<p class='muted'>none</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            txt = (
                floatfmt.format(v)
                if isinstance(v, float) and np.isfinite(v)
                else ("" if _isnan(v) else str(v))
            )
            cls = ""
            if highlight and c in highlight and highlight[c](v):
                cls = " class='bad'"
            cells.append(f"<td{cls}>{html.escape(txt)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _isnan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not np.isfinite(v))


def banner(manifest: Mapping[str, Any]) -> str:
    status = str(manifest.get("status", "ok"))
    fbs = list(manifest.get("fallbacks", []))
    warns = list(manifest.get("warnings", []))
    cls = "ok" if not fbs and not warns and status == "ok" else "warn"
    items = [
        f"<li><b>{html.escape(str(f.get('kind')))}</b> in {html.escape(str(f.get('step')))}"
        + (f" [{html.escape(str(f['feeder']))}]" if f.get("feeder") else "")
        + f": {html.escape(str(f.get('reason')))}</li>"
        for f in fbs
    ] + [f"<li>{html.escape(str(w))}</li>" for w in warns]
    model = manifest.get("model", {})
    head = f"Run status: <b>{html.escape(status)}</b> - model {html.escape(str(model.get('used', '?')))}" + (
        " <b>(SUBSTITUTED)</b>" if model.get("substituted") else ""
    )
    lst = f"<ul>{''.join(items)}</ul>" if items else "<p>No fallbacks, no warnings.</p>"
    return f"<div class='banner {cls}'>{head}{lst}</div>"


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:24px;color:#1a202c;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0}
.muted{color:#718096} .banner{padding:10px 14px;border-radius:6px;margin:12px 0}
.banner.ok{background:#f0fff4;border:1px solid #68d391} .banner.warn{background:#fffaf0;border:1px solid #ed8936}
.banner ul{margin:6px 0 0 18px;padding:0} .kpis{display:flex;gap:12px;flex-wrap:wrap}
.kpi{border:1px solid #e2e8f0;border-radius:6px;padding:8px 12px;min-width:150px}
.kpi b{display:block;font-size:19px} table{border-collapse:collapse;font-size:12px;margin:6px 0}
th,td{border:1px solid #e2e8f0;padding:3px 7px;text-align:right} th{background:#f7fafc}
td:first-child,th:first-child{text-align:left} td.bad{background:#fed7d7;font-weight:600}
img{max-width:100%}
"""


def _readiness_section(data: ReportData) -> list[str]:
    if data.readiness_summary.empty:
        return []
    hl = {
        "worst_restored_pct": lambda v: not _isnan(v) and float(v) < 50.0,
        "not_verified": lambda v: not _isnan(v) and int(v) > 0,
        "problem": lambda v: bool(v) and not _isnan(v),
    }
    return [
        "<h2>Restoration readiness (single-line faults at the peak)</h2>",
        "<p class='muted'>FLISR plans for the faults interrupting the most load, with loads at the forecast "
        "peak; most exposed feeder first. Highlighted: worst fault restores under 50 % of what it "
        "interrupts, plans failing verification. Every plan: restoration_readiness.csv.</p>",
        _table(data.readiness_summary.head(50), hl),
    ]


def render_report(data: ReportData, v_min_pu: float = 0.95, loading_max_pct: float = 100.0) -> str:
    """The report as one HTML string (no external references)."""
    m = data.manifest
    feeders = [n for n in data.forecasts if n != "system"]
    worst = list(data.health_summary["feeder"]) if not data.health_summary.empty else []
    charted = [f for f in worst if f in feeders] + [f for f in feeders if f not in worst]
    charted = charted[: data.max_feeder_charts]
    sysfc = data.forecasts.get("system")
    kpis = []
    if sysfc is not None and len(sysfc):
        med = quantile_column(sysfc, MEDIAN)
        kpis.append(
            (
                "System peak (median)",
                f"{med.max() / 1000:.1f} MW at {pd.DatetimeIndex(sysfc.index)[int(np.argmax(med.to_numpy()))]:%H:%M} UTC",
            )
        )
        kpis.append(("System energy", f"{med.sum() / 1000:.0f} MWh"))
    if not data.costs.empty and "total" in data.costs:
        kpis.append(("Dispatch cost", f"$ {data.costs['total'].sum():,.0f}"))
    if not data.health_summary.empty and data.health_summary["v_min_pu"].notna().any():
        r = data.health_summary.iloc[0]
        kpis.append(("Lowest voltage", f"{r['v_min_pu']:.3f} pu ({r['feeder']} bus {r['v_min_bus']})"))
    kpis.append(("Feeders", str(len(feeders))))
    kpi_html = "".join(f"<div class='kpi'>{html.escape(k)}<b>{html.escape(v)}</b></div>" for k, v in kpis)

    def img(src: str, alt: str) -> str:
        return f"<img alt='{html.escape(alt)}' src='{src}'>" if src else "<p class='muted'>no data</p>"

    hl = {
        "v_min_pu": lambda v: not _isnan(v) and float(v) < v_min_pu,
        "loading_max_pct": lambda v: not _isnan(v) and float(v) > loading_max_pct,
        "flags": lambda v: bool(v) and not _isnan(v),
    }
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(data.title)} {html.escape(data.date)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(data.title)} - {html.escape(data.date)}</h1>",
        f"<p class='muted'>gridai {html.escape(str(m.get('gridai_version', '')))}, run "
        f"{html.escape(str(m.get('run_id', ''))[:12])}; times in UTC</p>",
        banner(m),
        f"<div class='kpis'>{kpi_html}</div>",
        "<h2>System forecast</h2>",
        img(system_chart(data), "system forecast"),
        "<h2>Feeder forecasts</h2>",
        f"<p class='muted'>{len(charted)} of {len(feeders)} feeders, lowest voltage first.</p>",
        img(feeder_charts(data, charted), "feeder forecasts"),
        "<h2>Dispatch: VPP aggregate</h2>",
        img(vpp_chart(data), "VPP aggregate"),
        "<h2>Dispatch and state of charge per asset</h2>",
        img(asset_charts(data, charted[:9]), "asset dispatch"),
        "<h2>Network health (AC power flow at the peak intervals)</h2>",
        f"<p class='muted'>Worst case per feeder; highlighted: voltage below {v_min_pu} pu, loading above "
        f"{loading_max_pct:g} %.</p>",
        _table(data.health_summary.head(50), hl),
        *_readiness_section(data),
        "<h2>Costs per feeder</h2>",
        _table(data.costs.head(50), None, "{:,.2f}"),
        "</body></html>",
    ]
    return "\n".join(parts)
