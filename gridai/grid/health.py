"""Feeder health for the target day: AC power flows on the forecast at the peak intervals.

For each feeder, the intervals with the highest forecast median load (``peak_intervals`` of
them) are run through a pandapower Newton-Raphson power flow in up to three cases:

``p50``            the median forecast, before dispatch;
``p90``            the upper quantile (the risk case), before dispatch;
``p50_dispatched`` the median forecast with the scheduled battery power injected.

Every bus load of the network is scaled by one factor so that the feeder's total active
demand equals the forecast [kW]; reactive demand scales with it (constant power factor).
Each row of ``network_health.csv`` reports the lowest bus voltage [pu] and its bus, the
highest line/transformer loading [%] and its element, the number of buses below ``v_min_pu``
and of branches above ``loading_max_pct``, and the active losses [kW] (lines + transformers).
Loading counts rated branches only: a network without thermal ratings (case33bw) has an empty
``loading_max_pct`` / ``loading_max_element`` rather than a loading against a placeholder rating.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from pydantic import Field

from gridai.config import StrictModel
from gridai.forecast.quantiles import MEDIAN, quantile_column
from gridai.grid.powerflow import PowerFlowError, PowerFlowResult, power_flow

logger = logging.getLogger(__name__)

HEALTH_COLUMNS = [
    "feeder",
    "time",
    "case",
    "load_kw",
    "battery_kw",
    "converged",
    "v_min_pu",
    "v_min_bus",
    "n_low_voltage",
    "loading_max_pct",
    "loading_max_element",
    "n_overloaded",
    "losses_kw",
    "flag",
]


class HealthConfig(StrictModel):
    """Feeder health (AC power flow) settings."""

    peak_intervals: int = Field(
        3, ge=1, le=96, description="Highest-load intervals of day D checked per feeder."
    )
    upper_quantile: float | None = Field(
        0.9, gt=0.5, lt=1.0, description="Quantile of the risk case; None = skip it."
    )
    after_dispatch: bool = Field(True, description="Also run the median case with the scheduled batteries.")
    v_min_pu: float = Field(0.95, gt=0.5, lt=1.0, description="Buses below this voltage are flagged [pu].")
    loading_max_pct: float = Field(100.0, gt=0.0, description="Branches above this loading are flagged [%].")


def peak_times(load_kw: pd.Series, n: int) -> list[pd.Timestamp]:
    """The ``n`` intervals with the highest load, in time order."""
    top = load_kw.sort_values(ascending=False, kind="mergesort").index[:n]
    return sorted(pd.DatetimeIndex(top))


#: A line whose ``max_i_ka`` is at or above this has no real thermal rating: pandapower's MATPOWER
#: converter writes 99999 kA where the case gives none (``rateA = 0``: case33bw and most IEEE test
#: feeders), and no distribution cable carries anything near 1000 kA. Its "loading" against that
#: placeholder (0.0001 %) would name the most loaded element with a meaningless figure.
UNRATED_MAX_I_KA = 1000.0


def rated_lines(net: Any) -> pd.Index:
    """Lines with a real thermal rating: finite ``0 < max_i_ka < UNRATED_MAX_I_KA`` [kA]."""
    rating = pd.to_numeric(net.line["max_i_ka"], errors="coerce")
    return net.line.index[(rating > 0) & (rating < UNRATED_MAX_I_KA)]


def branch_loading(net: Any) -> tuple[pd.Series, pd.Series]:
    """Loading [%] of every rated, solved branch (``line i`` / ``trafo i``) and losses [MW] of all.

    Unrated lines (:data:`UNRATED_MAX_I_KA`) and transformers without a positive ``sn_mva`` are
    left out of the loading: a network without any rated branch has an empty loading series.
    """
    lines = net.res_line["loading_percent"].reindex(rated_lines(net))
    loading = [lines.rename(lambda i: f"line {i}")]
    losses = [net.res_line["pl_mw"]]
    if len(net.trafo):
        sn = pd.to_numeric(net.trafo["sn_mva"], errors="coerce")
        trafos = net.res_trafo["loading_percent"].reindex(net.trafo.index[sn > 0])
        loading.append(trafos.rename(lambda i: f"trafo {i}"))
        losses.append(net.res_trafo["pl_mw"])
    return pd.concat(loading).dropna(), pd.concat(losses)


def scale_total_load(net: Any, load_kw: float) -> None:
    """Scale every in-service load by one factor so that their active total is ``load_kw`` [kW]
    (reactive demand follows: constant power factor); in place."""
    base = float((net.load["p_mw"] * net.load["in_service"]).sum())
    net.load["scaling"] = (load_kw / 1000.0) / base if base > 0 else 0.0


def run_power_flow(
    net: Any,
    load_kw: float,
    battery_kw: Mapping[int, float] | None,
    cfg: HealthConfig,
) -> dict[str, Any]:
    """One AC power flow with the feeder's demand scaled to ``load_kw`` [kW].

    Parameters
    ----------
    net:
        pandapower network (its ``load.scaling`` and battery sgens are changed in place).
    load_kw:
        Total active demand of the feeder's loads [kW].
    battery_kw:
        Net battery injection per bus [kW] (discharge > 0, charge < 0).
    """
    scale_total_load(net, load_kw)
    _set_batteries(net, battery_kw or {})
    row: dict[str, Any] = {"load_kw": load_kw, "battery_kw": float(sum((battery_kw or {}).values()))}
    warm = bool(getattr(net, "converged", False)) and len(net.res_bus) == len(net.bus)
    try:
        pf = power_flow(
            net,
            algorithm="nr",
            max_iteration=30,
            numba=len(net.bus) > 2000,
            init="results" if warm else "auto",
        )
    except PowerFlowError as err:  # a failed power flow is reported like a diverged one
        pf = PowerFlowResult(
            converged=False, error_type=str(err.details.get("error_type", "")), message=str(err)
        )
    if not pf.converged:
        logger.debug("power flow did not converge: %s", pf.message)
        row.update(converged=False, flag="not converged")
        return row
    vm = net.res_bus["vm_pu"]
    loading, losses = branch_loading(net)
    low = int((vm < cfg.v_min_pu).sum())
    over = int((loading > cfg.loading_max_pct).sum())
    flags = []
    if low:
        flags.append(f"{low} buses < {cfg.v_min_pu} pu")
    if over:
        flags.append(f"{over} branches > {cfg.loading_max_pct:g} %")
    row.update(
        converged=True,
        v_min_pu=float(vm.min()),
        v_min_bus=int(vm.idxmin()),
        n_low_voltage=low,
        loading_max_pct=float(loading.max()) if len(loading) else float("nan"),
        loading_max_element=str(loading.idxmax()) if len(loading) else "",
        n_overloaded=over,
        losses_kw=float(losses.sum()) * 1000.0,
        flag="; ".join(flags),
    )
    return row


def _set_batteries(net: Any, battery_kw: Mapping[int, float]) -> None:
    import pandapower as pp

    tagged = net.sgen.index[net.sgen["name"].astype(str).str.startswith("gridai_battery_")]
    if len(tagged):
        net.sgen.loc[tagged, "p_mw"] = 0.0
    for bus, p_kw in battery_kw.items():
        name = f"gridai_battery_{bus}"
        hit = net.sgen.index[net.sgen["name"] == name]
        if len(hit):
            net.sgen.loc[hit[0], "p_mw"] = p_kw / 1000.0
        else:
            pp.create_sgen(net, bus=int(bus), p_mw=p_kw / 1000.0, q_mvar=0.0, name=name)


def feeder_health(
    net: Any,
    feeder: str,
    load_kw: pd.DataFrame,
    cfg: HealthConfig,
    battery_kw: pd.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Health rows of one feeder for day D.

    Parameters
    ----------
    net:
        The feeder's pandapower network (a private copy: it is modified).
    load_kw:
        Feeder demand forecast [kW], index ``time``, one column per quantile level.
    battery_kw:
        Scheduled battery power [kW] per time (rows) and bus (columns), discharge > 0.
    """
    median = quantile_column(load_kw, MEDIAN)
    rows: list[dict[str, Any]] = []
    cases: list[tuple[str, float | None, bool]] = [("p50", 0.5, False)]
    if cfg.upper_quantile is not None:
        cases.append((f"p{round(cfg.upper_quantile * 100)}", cfg.upper_quantile, False))
    if cfg.after_dispatch and battery_kw is not None and len(battery_kw.columns):
        cases.append(("p50_dispatched", 0.5, True))
    for t in peak_times(median, cfg.peak_intervals):
        for case, q, dispatched in cases:
            load_q = quantile_column(load_kw, q if q is not None else MEDIAN)
            batt: dict[int, float] = {}
            if dispatched and battery_kw is not None and t in battery_kw.index:
                batt = {
                    int(str(b)): float(v)
                    for b, v in zip(battery_kw.columns, battery_kw.loc[t].to_numpy(), strict=True)
                }
            row = run_power_flow(net, float(load_q.to_numpy()[load_kw.index.get_loc(t)]), batt, cfg)
            rows.append({"feeder": feeder, "time": pd.Timestamp(t), "case": case, **row})
    _set_batteries(net, {})
    return rows


def health_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows -> the ``network_health.csv`` table (fixed columns, sorted by feeder, time, case)."""
    df = pd.DataFrame(list(rows), columns=HEALTH_COLUMNS)
    if len(df):
        df = df.sort_values(["feeder", "time", "case"], kind="mergesort").reset_index(drop=True)
    return df


#: Columns of :func:`health_summary`: the worst voltage and the worst loading per feeder, each with
#: the case (``p50``, ``p90``, ``p50_dispatched``) and the interval it occurred in.
SUMMARY_COLUMNS = [
    "feeder",
    "v_min_pu",
    "v_min_bus",
    "v_min_case",
    "v_min_time",
    "loading_max_pct",
    "loading_max_element",
    "loading_case",
    "loading_time",
    "losses_kw_peak",
    "flags",
]


def health_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Worst values per feeder (for the report): min voltage, max loading (rated branches; empty
    when the network has none), each with its case and time, peak losses and flags; lowest voltage first."""
    out = []
    for feeder, g in df.groupby("feeder", sort=True) if len(df) else ():
        ok = g[g["converged"].astype(bool)]
        if ok.empty:
            out.append({"feeder": feeder, "flags": "power flow did not converge"})
            continue
        recs = ok.to_dict("records")
        rv = min(recs, key=lambda r: float(r["v_min_pu"]))
        rated = [r for r in recs if pd.notna(r["loading_max_pct"])]
        rl = max(rated, key=lambda r: float(r["loading_max_pct"])) if rated else {}
        out.append(
            {
                "feeder": feeder,
                "v_min_pu": float(rv["v_min_pu"]),
                "v_min_bus": int(rv["v_min_bus"]),
                "v_min_case": str(rv["case"]),
                "v_min_time": rv["time"],
                "loading_max_pct": float(rl.get("loading_max_pct", float("nan"))),
                "loading_max_element": str(rl.get("loading_max_element", "")),
                "loading_case": str(rl.get("case", "")),
                "loading_time": rl.get("time", pd.NaT),
                "losses_kw_peak": float(ok[ok["case"] == "p50"]["losses_kw"].astype(float).max()),
                "flags": "; ".join(sorted({str(f) for f in g["flag"] if isinstance(f, str) and f})),
            }
        )
    res = pd.DataFrame(out, columns=SUMMARY_COLUMNS)
    return res.sort_values("v_min_pu", kind="mergesort", na_position="first").reset_index(drop=True)
