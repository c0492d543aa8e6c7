"""Backtest plots (PNG), drawn with matplotlib's object API: no pyplot, no global backend change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _figure(w: float, h: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h))
    return fig, fig.subplots()


def plot_forecast_vs_actual(
    frame: pd.DataFrame, series: str, path: Path, *, quantiles: list[float], units: str, days: int = 14
) -> None:
    """Median, 10-90 % and 25-75 % bands (or the widest pair present) and actual of ``series`` for the last ``days``."""
    sub = frame[frame["series"] == series].sort_values("time")
    sub = sub[sub["time"] >= sub["time"].max() - pd.Timedelta(days=days)]
    fig, ax = _figure(11, 4)
    qcols = [f"q{q:g}" for q in quantiles]
    pairs = [(qcols[i], qcols[-1 - i]) for i in range(len(qcols) // 2)]
    for k, (lo, hi) in enumerate(pairs[:2]):
        ax.fill_between(
            sub["time"],
            sub[lo],
            sub[hi],
            alpha=0.25 + 0.2 * k,
            color="tab:blue",
            lw=0,
            label=f"{lo[1:]}-{hi[1:]} quantiles",
        )
    ax.plot(sub["time"], sub["q0.5"], color="tab:blue", lw=1.2, label="median forecast")
    ax.plot(sub["time"], sub["actual"], color="black", lw=1.0, label="actual")
    ax.set_title(f"{series}: day-ahead forecast vs actual (last {days} days of the test period)")
    ax.set_ylabel(f"load [{units}]")
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_error_by_hour(frame: pd.DataFrame, root: str, path: Path) -> None:
    """MAPE by hour of day (UTC interval start) for the root and averaged over the other series."""
    f = frame[np.isfinite(frame["actual"]) & (frame["actual"] != 0)].copy()
    f["ape"] = 100.0 * (f["q0.5"] - f["actual"]).abs() / f["actual"].abs()
    f["hour"] = pd.DatetimeIndex(f["time"]).hour
    sys_err = f[f["series"] == root].groupby("hour")["ape"].mean()
    rest = f[f["series"] != root].groupby("hour")["ape"].mean()
    fig, ax = _figure(8, 4)
    ax.plot(sys_err.index, sys_err.values, marker="o", label=root)
    if len(rest):
        ax.plot(rest.index, rest.values, marker="s", label="other series (mean)")
    ax.set_xlabel("hour of day (UTC interval start)")
    ax.set_ylabel("MAPE [%]")
    ax.set_title("Day-ahead error by hour of day")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
