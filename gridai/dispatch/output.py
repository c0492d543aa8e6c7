"""Dispatch files: read a forecast (``forecast.nc`` / ``forecasts.csv``), write results atomically.

Output directory layout (one set per dispatch problem ``<key>``: a feeder, or ``vpp``)::

    summary.json              solve status/times, costs, scenario costs, network summary per key
    <key>/schedule.csv        time, feeder, asset, kind, p_kw, soc_kwh, charge_kw, discharge_kw
    <key>/grid.csv            time, feeder, scenario, quantile, load_kw, import_kw, export_kw,
                              price_per_kwh, balance_dual_per_kwh
    <key>/vpp.csv             time, agg_kw (+ target_kw, env_min_kw, env_max_kw)
    <key>/voltage_band.csv    time, feeder, v_min_pu, v_max_pu (LinDistFlow, network feeders)
    <key>/voltages_ac.csv     time, feeder, bus, v_lindistflow_pu, v_ac_pu (AC-checked intervals)
    <key>/schedule.png        asset power and battery SoC paths
    <key>/voltage.png         feeder voltage band with the AC-checked points
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from gridai.exceptions import GridAIDataError
from gridai.outputs import atomic_dir, safe_path_part

if TYPE_CHECKING:
    from gridai.dispatch.api import DispatchResult


def read_forecast(path: str | Path) -> xr.Dataset:
    """A forecast dataset from ``forecast.nc``, ``forecasts.csv`` (long form) or a directory holding one."""
    p = Path(path)
    if p.is_dir():
        for name in ("forecast.nc", "forecasts.csv"):
            if (p / name).is_file():
                return read_forecast(p / name)
        raise GridAIDataError(
            f"forecast directory {p} holds neither forecast.nc nor forecasts.csv", file=str(p)
        )
    if not p.is_file():
        raise GridAIDataError(f"forecast {p} does not exist", file=str(p))
    if p.suffix == ".nc":
        try:
            with xr.open_dataset(p, engine="h5netcdf") as ds:
                return ds.load()
        except (OSError, ValueError) as err:
            raise GridAIDataError(f"forecast {p} is not a readable netCDF file: {err}", file=str(p)) from None
    if p.suffix == ".csv":
        df = pd.read_csv(p)
        value = "load_forecast" if "load_forecast" in df.columns else "value"
        need = {"time", "series", "quantile", value}
        if not need <= set(df.columns):
            raise GridAIDataError(
                f"forecast CSV {p} needs columns {sorted(need)}, has {list(df.columns)}", file=str(p)
            )
        df["time"] = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None)
        if df.duplicated(["time", "series", "quantile"]).any():
            raise GridAIDataError(f"forecast CSV {p} repeats (time, series, quantile) rows", file=str(p))
        da = df.set_index(["time", "series", "quantile"])[value].to_xarray()
        return xr.Dataset({"load_forecast": da.transpose("time", "series", "quantile")})
    raise GridAIDataError(f"forecast {p}: expected a .nc or .csv file or a directory", file=str(p))


def _plot_schedule(res: DispatchResult, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), constrained_layout=True)
    ax_p, ax_s = fig.subplots(2, 1, sharex=True)
    for (asset, kind), g in res.schedule.groupby(["asset", "kind"], sort=False):
        ax_p.plot(g["time"], g["p_kw"], label=f"{asset} ({kind})", lw=1)
        if kind == "battery":
            ax_s.plot(g["time"], g["soc_kwh"], label=str(asset), lw=1)
    grid = res.grid[res.grid["scenario"] == res.grid["scenario"].max() // 2]
    for feeder, g in grid.groupby("feeder"):
        ax_p.plot(g["time"], g["import_kw"] - g["export_kw"], "k--", lw=0.8, label=f"{feeder} grid exchange")
    ax_p.set_ylabel("power [kW] (+ into grid)")
    ax_s.set_ylabel("SoC [kWh]")
    for ax in (ax_p, ax_s):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=2)
    fig.savefig(path, dpi=110)


def _plot_voltage(res: DispatchResult, path: Path) -> None:
    from matplotlib.figure import Figure

    if res.voltage_band is None:
        return
    fig = Figure(figsize=(10, 4), constrained_layout=True)
    ax = fig.subplots()
    for feeder, g in res.voltage_band.groupby("feeder"):
        ax.fill_between(
            g["time"], g["v_min_pu"], g["v_max_pu"], alpha=0.3, label=f"{feeder} LinDistFlow band"
        )
        summ = res.network.get(str(feeder), {})
        for lim in ("v_min_limit_pu", "v_max_limit_pu"):
            if summ.get(lim) is not None:
                ax.axhline(summ[lim], color="r", lw=0.8, ls=":")
    if res.voltages is not None:
        ac = res.voltages.groupby("time")["v_ac_pu"].agg(["min", "max"])
        ax.scatter(ac.index, ac["min"], marker="v", color="k", s=15, label="AC min (checked)")
        ax.scatter(ac.index, ac["max"], marker="^", color="k", s=15, label="AC max (checked)")
    ax.set_ylabel("voltage [pu]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.savefig(path, dpi=110)


def write_results(results: dict[str, DispatchResult], out_dir: str | Path, plots: bool = True) -> Path:
    """Write every result into ``out_dir`` atomically (:func:`gridai.outputs.atomic_dir`).

    An existing ``out_dir`` that gridai wrote is replaced as a whole; one holding anything else is
    refused (:func:`gridai.outputs.check_replaceable`); a failure leaves it untouched.
    """
    out = Path(out_dir)
    for key in results:  # names become folders: checked before anything is written
        safe_path_part(key, "feeder")
    with atomic_dir(out) as tmp:
        summary = {}
        for key, res in results.items():
            d = tmp / key
            d.mkdir()
            res.schedule.to_csv(d / "schedule.csv", index=False)
            res.grid.to_csv(d / "grid.csv", index=False)
            res.vpp.to_csv(d / "vpp.csv", index=False)
            if res.voltage_band is not None:
                res.voltage_band.to_csv(d / "voltage_band.csv", index=False)
            if res.voltages is not None:
                res.voltages.to_csv(d / "voltages_ac.csv", index=False)
            if plots:
                _plot_schedule(res, d / "schedule.png")
                _plot_voltage(res, d / "voltage.png")
            summary[key] = res.summary()
        text = json.dumps(summary, indent=2, default=_default)
        (tmp / "summary.json").write_text(text, encoding="utf-8")
    return out


def _default(o: object) -> object:
    if isinstance(o, np.generic):
        return o.item()
    return str(o)
