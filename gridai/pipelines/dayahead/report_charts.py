"""Interactive charts of the day-ahead report (plotly.js, inlined once: the file works offline).

Each chart is a plotly figure given as plain dicts (no plotly.graph_objects validation, so the
cost is that of serialising the numbers) and rendered by :class:`ChartWriter`, which inlines the
plotly.js bundle of the ``plotly`` package with the first chart only; every later chart reuses it.
Charts zoom (drag, double-click to reset), pan and show values on hover; x axes are local wall-clock
time of the report's zone (:mod:`gridai.pipelines.dayahead.report_clock`).

Charts: the system forecast fan with the actuals and its peak marked (:func:`fan_figure`),
yesterday's forecast against yesterday's actual (:func:`previous_day_figure`), the battery dispatch
with state of charge and the tariff behind it (:func:`dispatch_figure`), and per feeder its demand fan
and its batteries (:func:`asset_figure`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from gridai.forecast.quantiles import MEDIAN, quantile_column
from gridai.pipelines.dayahead.report_clock import Clock, TimeAxis

BAND_RGB = "43,108,176"
MEDIAN_COLOR = "#2b6cb0"
ACTUAL_COLOR = "#1a202c"
ACTUAL_D_COLOR = "#c53030"
DISCHARGE_COLOR = "#2f855a"
CHARGE_COLOR = "#c05621"
SOC_COLOR = "#553c9a"
PRICE_COLOR = "#b7791f"
PEAK_WINDOW = "rgba(237,137,54,0.10)"

#: plotly.js options: no logo, no "edit in chart studio" link, responsive width.
CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showLink": False,
    "toImageButtonOptions": {"format": "png"},
}


class ChartWriter:
    """Renders figures as ``<div>`` + ``<script>``; the plotly.js bundle goes in with the first only."""

    def __init__(self) -> None:
        self.count = 0

    def render(self, fig: dict[str, Any] | None, key: str) -> str:
        if fig is None:
            return "<p class='muted'>no data</p>"
        import plotly.io as pio

        inline = self.count == 0
        self.count += 1
        height = int(fig.get("layout", {}).get("height", 360))
        div = pio.to_html(
            fig,
            config=CONFIG,
            include_plotlyjs=inline,
            full_html=False,
            validate=False,
            div_id="chart-" + re.sub(r"[^A-Za-z0-9_-]", "_", key),
            default_height=f"{height}px",
        )
        return f"<div class='chart' data-chart='{key}'>{div}</div>"


def _r(values: Any, digits: int) -> list[float | None]:
    arr = np.round(np.asarray(values, dtype=float), digits)
    return [None if not np.isfinite(v) else float(v) for v in arr]


def _layout(title: str, axis: TimeAxis, height: int, *, legend_px: int = 0, **extra: Any) -> dict[str, Any]:
    """Common layout; ``legend_px`` reserves that much room below the x axis for the legend."""
    plot_h = max(height - 48 - 50 - legend_px, 100)
    return {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 14}},
        "height": height,
        "margin": {"l": 60, "r": 60, "t": 48, "b": 50 + legend_px},
        "hovermode": "x unified",
        "showlegend": legend_px > 0,
        "legend": {"orientation": "h", "y": -50 / plot_h, "yanchor": "top", "x": 0},
        "xaxis": {**axis.layout(), "showgrid": True, "gridcolor": "#edf2f7"},
        "yaxis": {"gridcolor": "#edf2f7", "zeroline": False},
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 11},
        "plot_bgcolor": "#ffffff",
        **extra,
    }


def _bands(fc: pd.DataFrame) -> list[tuple[float, float]]:
    levels = sorted(float(q) for q in fc.columns)
    return sorted(
        ((lo, 1 - lo) for lo in levels if lo < 0.5 and any(abs((1 - lo) - h) < 1e-9 for h in levels)),
    )


def fan_traces(
    axis: TimeAxis, fc: pd.DataFrame, scale: float, digits: int, *, legend: bool = True
) -> list[dict[str, Any]]:
    """Quantile bands (outer first) and the median of ``fc`` (columns quantile levels) / ``scale``."""
    x = axis.x(fc.index)
    traces: list[dict[str, Any]] = []
    pairs = _bands(fc)
    for i, (lo, hi) in enumerate(pairs):
        name = f"p{round(lo * 100)}-p{round(hi * 100)}"
        alpha = 0.14 + 0.12 * i
        traces.append({"type": "scatter", "mode": "lines", "x": x, "y": _r(quantile_column(fc, lo) / scale, digits),
                       "line": {"width": 0, "color": f"rgba({BAND_RGB},0.3)"}, "name": f"p{round(lo * 100)}",
                       "showlegend": False, "legendgroup": name})  # fmt: skip
        traces.append({"type": "scatter", "mode": "lines", "x": x, "y": _r(quantile_column(fc, hi) / scale, digits),
                       "fill": "tonexty", "fillcolor": f"rgba({BAND_RGB},{alpha:.2f})",
                       "line": {"width": 0, "color": f"rgba({BAND_RGB},0.3)"}, "name": f"p{round(hi * 100)}",
                       "legendgroup": name, "showlegend": legend})  # fmt: skip
        traces[-1]["name"] = f"band {name}" if legend else traces[-1]["name"]
    med = quantile_column(fc, MEDIAN) / scale
    traces.append({"type": "scatter", "mode": "lines", "x": x, "y": _r(med, digits), "name": "forecast p50",
                   "line": {"color": MEDIAN_COLOR, "width": 2.2}, "showlegend": legend})  # fmt: skip
    return traces


def actual_traces(
    axis: TimeAxis,
    actual: pd.Series | None,
    start: pd.Timestamp,
    end: pd.Timestamp,
    scale: float,
    digits: int,
) -> list[dict[str, Any]]:
    """Actual load before ``start`` (solid) and within [start, end) (dashed: known afterwards)."""
    if actual is None or not len(actual):
        return []
    t = pd.DatetimeIndex(actual.index)
    out = []
    before = actual[t < start]
    during = actual[(t >= start) & (t < end)]
    if len(before):
        out.append({"type": "scatter", "mode": "lines", "x": axis.x(before.index), "y": _r(before / scale, digits),
                    "name": "actual", "line": {"color": ACTUAL_COLOR, "width": 1.2}})  # fmt: skip
    if len(during.dropna()):
        out.append({"type": "scatter", "mode": "lines", "x": axis.x(during.index), "y": _r(during / scale, digits),
                    "name": "actual on the forecast day", "line": {"color": ACTUAL_D_COLOR, "width": 1.4,
                                                                   "dash": "dash"}})  # fmt: skip
    return out


def peak_annotation(
    axis: TimeAxis, fc: pd.DataFrame, scale: float, unit: str, digits: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Marker trace and annotation at the peak of the median: value, time and the p90 there."""
    med = quantile_column(fc, MEDIAN) / scale
    k = int(np.argmax(med.to_numpy()))
    t = pd.DatetimeIndex(fc.index)[k]
    x = axis.x([t])[0]
    y = float(med.iloc[k])
    label = f"peak p50 {y:,.{digits}f} {unit} at {axis.clock.hour(t)}"
    marker = {"type": "scatter", "mode": "markers", "x": [x], "y": [round(y, digits)], "name": "peak (p50)",
              "marker": {"size": 10, "color": MEDIAN_COLOR, "symbol": "diamond", "line": {"color": "#fff", "width": 1}},
              "showlegend": False}  # fmt: skip
    note = {"x": x, "y": y, "text": label, "showarrow": True, "arrowhead": 2, "ax": 0, "ay": -34,
            "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": MEDIAN_COLOR, "font": {"size": 11}}  # fmt: skip
    return marker, note


def day_start_shape(axis: TimeAxis, start: pd.Timestamp) -> dict[str, Any]:
    x = axis.x([start])[0]
    return {"type": "line", "x0": x, "x1": x, "yref": "paper", "y0": 0, "y1": 1,
            "line": {"color": "#718096", "width": 1, "dash": "dot"}}  # fmt: skip


def fan_figure(
    clock: Clock,
    fc: pd.DataFrame,
    actual: pd.Series | None,
    title: str,
    *,
    scale: float = 1.0,
    unit: str = "kW",
    digits: int = 1,
    height: int = 380,
    legend: bool = True,
) -> dict[str, Any] | None:
    """Forecast fan with actuals, the start of D dotted and the median's peak marked."""
    if fc is None or not len(fc):
        return None
    times = pd.DatetimeIndex(fc.index)
    step = times[1] - times[0] if len(times) > 1 else pd.Timedelta(hours=1)
    span = times.union(pd.DatetimeIndex(actual.index)) if actual is not None and len(actual) else times
    axis = clock.axis(span)
    start, end = times[0], times[-1] + step
    marker, note = peak_annotation(axis, fc, scale, unit, digits)
    data = [
        *actual_traces(axis, actual, start, end, scale, digits),
        *fan_traces(axis, fc, scale, digits),
        marker,
    ]
    layout = _layout(
        title,
        axis,
        height,
        legend_px=30 if legend else 0,
        shapes=[day_start_shape(axis, start)],
        annotations=[note],
    )
    layout["yaxis"]["title"] = {"text": unit}
    return {"data": data, "layout": layout}


def forecast_scores(fc: pd.DataFrame, actual: pd.Series) -> dict[str, float]:
    """MAPE of the median [%] and coverage of the outer band [fraction] over the intervals with an actual."""
    a = actual.reindex(fc.index).astype(float)
    ok = a.notna() & (a.abs() > 0)
    if not ok.any():
        return {}
    med = quantile_column(fc, MEDIAN)[ok]
    out = {"mape_pct": float((np.abs(med - a[ok]) / a[ok].abs()).mean() * 100.0), "n": float(ok.sum())}
    pairs = _bands(fc)
    if pairs:
        lo, hi = pairs[0]
        inside = (a[ok] >= quantile_column(fc, lo)[ok]) & (a[ok] <= quantile_column(fc, hi)[ok])
        out.update(coverage=float(inside.mean()), band_lo=lo, band_hi=hi)
    return out


def previous_day_figure(
    clock: Clock, fc: pd.DataFrame | None, actual: pd.Series | None, title: str, *, scale: float = 1000.0,
    unit: str = "MW",
) -> dict[str, Any] | None:  # fmt: skip
    """Yesterday's forecast (fan) against yesterday's actual, with the median's error in the title."""
    if fc is None or not len(fc):
        return None
    times = pd.DatetimeIndex(fc.index)
    axis = clock.axis(times)
    act = actual.reindex(times) if actual is not None else None
    data = fan_traces(axis, fc, scale, 3)
    if act is not None and act.notna().any():
        data.insert(0, {"type": "scatter", "mode": "lines", "x": axis.x(times), "y": _r(act / scale, 3),
                        "name": "actual", "line": {"color": ACTUAL_COLOR, "width": 1.6}})  # fmt: skip
    layout = _layout(title, axis, 380, legend_px=30)
    layout["margin"]["t"] = 68  # a two-line title: what the forecast is, then its scores
    layout["yaxis"]["title"] = {"text": unit}
    return {"data": data, "layout": layout}


def _peak_windows(axis: TimeAxis, price: pd.Series, step: pd.Timedelta) -> list[dict[str, Any]]:
    """Shaded rectangles over the intervals at the highest price (the tariff's peak window)."""
    if price is None or not len(price) or float(price.max()) <= float(price.min()):
        return []
    hi = (price.to_numpy() >= float(price.max()) - 1e-12).astype(int)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], hi, [0]])))
    t = pd.DatetimeIndex(price.index)
    out = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        x0, x1 = axis.x([t[a], t[b - 1] + step])
        out.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
                    "fillcolor": PEAK_WINDOW, "line": {"width": 0}, "layer": "below"})  # fmt: skip
    return out


def _price_trace(axis: TimeAxis, price: pd.Series, step: pd.Timedelta, yaxis: str) -> dict[str, Any]:
    t = pd.DatetimeIndex(price.index)
    x = axis.x(t.append(pd.DatetimeIndex([t[-1] + step])))
    y = [*_r(price, 4), round(float(price.iloc[-1]), 4)]
    return {"type": "scatter", "mode": "lines", "x": x, "y": y, "yaxis": yaxis, "name": "tariff [$/kWh]",
            "line": {"color": PRICE_COLOR, "width": 1.6, "shape": "hv"}}  # fmt: skip


def dispatch_figure(
    clock: Clock, schedules: pd.DataFrame, price: pd.Series | None, title: str
) -> dict[str, Any] | None:
    """Aggregate battery power (bars) with the tariff (right axis), and the aggregate state of charge."""
    if schedules.empty:
        return None
    p = schedules.groupby("time")["p_kw"].sum().sort_index()
    soc = schedules.groupby("time")["soc_kwh"].sum().sort_index()
    times = pd.DatetimeIndex(p.index)
    step = times[1] - times[0] if len(times) > 1 else pd.Timedelta(hours=1)
    axis = clock.axis(times.append(pd.DatetimeIndex([times[-1] + step])))
    width = step / pd.Timedelta(milliseconds=1) * 0.85
    x = axis.x(times)
    data: list[dict[str, Any]] = [
        {"type": "bar", "x": x, "y": _r(p.clip(lower=0), 1), "name": "discharge [kW]", "marker": {"color": DISCHARGE_COLOR},
         "offset": 0, "width": width},
        {"type": "bar", "x": x, "y": _r(p.clip(upper=0), 1), "name": "charge [kW]", "marker": {"color": CHARGE_COLOR},
         "offset": 0, "width": width},
        {"type": "scatter", "mode": "lines", "x": x, "y": _r(soc, 1), "name": "state of charge [kWh]",
         "xaxis": "x2", "yaxis": "y3", "line": {"color": SOC_COLOR, "width": 2}},
    ]  # fmt: skip
    if price is not None and len(price):
        data.append(_price_trace(axis, price.reindex(times).ffill().bfill(), step, "y2"))
    layout = _layout(
        title,
        axis,
        480,
        legend_px=30,
        barmode="relative",
        shapes=_peak_windows(axis, price, step) if price is not None else [],
    )
    layout["xaxis"].update(anchor="y", domain=[0, 1])
    layout["xaxis2"] = {**layout["xaxis"], "anchor": "y3", "matches": "x"}
    layout["xaxis"]["showticklabels"] = False
    layout["yaxis"].update(domain=[0.42, 1.0], title={"text": "kW (discharge > 0)"})
    layout["yaxis2"] = {"overlaying": "y", "side": "right", "title": {"text": "$/kWh"}, "showgrid": False, "zeroline": False,
                        "rangemode": "tozero", "color": PRICE_COLOR}  # fmt: skip
    layout["yaxis3"] = {
        "domain": [0.0, 0.34],
        "title": {"text": "kWh"},
        "gridcolor": "#edf2f7",
        "rangemode": "tozero",
    }
    return {"data": data, "layout": layout}


def asset_figure(
    clock: Clock, schedules: pd.DataFrame, price: pd.Series | None, title: str
) -> dict[str, Any] | None:
    """One feeder's batteries: power per asset [kW] (step) and state of charge [kWh] (right axis)."""
    if schedules.empty:
        return None
    times = pd.DatetimeIndex(sorted(set(schedules["time"])))
    step = times[1] - times[0] if len(times) > 1 else pd.Timedelta(hours=1)
    axis = clock.axis(times.append(pd.DatetimeIndex([times[-1] + step])))
    data: list[dict[str, Any]] = []
    palette = ["#2f855a", "#2b6cb0", "#c05621", "#805ad5", "#d53f8c", "#319795"]
    for k, (asset, g) in enumerate(schedules.groupby("asset", sort=True)):
        g = g.sort_values("time")
        c = palette[k % len(palette)]
        data.append({"type": "scatter", "mode": "lines", "x": axis.x(g["time"]), "y": _r(g["p_kw"], 1),
                     "name": f"{asset} power [kW]", "line": {"color": c, "width": 1.8, "shape": "hv"}})  # fmt: skip
        data.append({"type": "scatter", "mode": "lines", "x": axis.x(g["time"]), "y": _r(g["soc_kwh"], 1),
                     "name": f"{asset} SoC [kWh]", "yaxis": "y2", "line": {"color": c, "width": 1.2, "dash": "dot"}})  # fmt: skip
    rows = (len(data) + 3) // 4  # legend rows of four entries
    shapes = _peak_windows(axis, price, step) if price is not None else []
    layout = _layout(title, axis, 300 + 22 * rows, legend_px=22 * rows, shapes=shapes)
    layout["yaxis"]["title"] = {"text": "kW (discharge > 0)"}
    layout["yaxis2"] = {"overlaying": "y", "side": "right", "title": {"text": "SoC kWh"}, "showgrid": False, "zeroline": False,
                        "rangemode": "tozero"}  # fmt: skip
    return {"data": data, "layout": layout}


def chart_keys(html_text: str) -> Sequence[str]:
    """The ``data-chart`` keys of the charts in a rendered report (for tests and checks)."""
    return re.findall(r"data-chart='([^']+)'", html_text)
