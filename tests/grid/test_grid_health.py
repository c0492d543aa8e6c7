"""Feeder health (gridai.grid.health): the loading it reports is the loading of the element it names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridai.grid.health import (
    UNRATED_MAX_I_KA,
    HealthConfig,
    health_frame,
    health_summary,
    rated_lines,
    run_power_flow,
)

from support import NetFactory


def _nominal_kw(net: object) -> float:
    return float(net.load["p_mw"].sum()) * 1000.0  # type: ignore[attr-defined]


def test_case33bw_has_no_thermal_ratings_so_no_loading_is_reported(case33bw: NetFactory) -> None:
    # pandapower's case33bw carries the converter's 99999 kA placeholder on every line: the old
    # report showed "loading_max_pct 0.000 on line 0" (the head line's current against 99999 kA)
    net = case33bw()
    assert (net.line["max_i_ka"] >= UNRATED_MAX_I_KA).all() and rated_lines(net).empty
    row = run_power_flow(net, _nominal_kw(net), None, HealthConfig())
    assert row["converged"] is True
    assert np.isnan(row["loading_max_pct"]) and row["loading_max_element"] == ""
    assert row["n_overloaded"] == 0 and row["losses_kw"] > 0  # losses still count every line


@pytest.mark.parametrize(
    "rated",
    [
        pytest.param("all", id="every-line-rated"),
        pytest.param([5, 17, 30], id="some-lines-rated"),
    ],
)
def test_reported_loading_is_that_of_the_named_element(case33bw: NetFactory, rated: object) -> None:
    net = case33bw()
    idx = net.line.index if rated == "all" else pd.Index(rated)
    net.line.loc[idx, "max_i_ka"] = 0.4  # 400 A feeder cable
    row = run_power_flow(net, 0.9 * _nominal_kw(net), None, HealthConfig(loading_max_pct=40.0))
    kind, _, num = row["loading_max_element"].partition(" ")
    assert kind == "line" and int(num) in idx
    # recomputed independently from the branch current and its rating
    expected = 100.0 * net.res_line["i_ka"] / net.line["max_i_ka"]
    assert row["loading_max_pct"] == pytest.approx(float(expected[int(num)]), rel=1e-6)
    assert row["loading_max_pct"] == pytest.approx(float(expected[idx].max()), rel=1e-6)
    assert row["n_overloaded"] == int((expected[idx] > 40.0).sum())
    assert 1.0 < row["loading_max_pct"] < 1000.0


def test_summary_takes_the_worst_rated_case_and_keeps_unrated_feeders_empty() -> None:
    t = pd.Timestamp("2008-06-30 15:00")
    base = {"converged": True, "v_min_bus": 17, "n_low_voltage": 0, "n_overloaded": 0, "losses_kw": 1.0,
            "flag": "", "load_kw": 1.0, "battery_kw": 0.0, "time": t}  # fmt: skip
    rows = [
        {**base, "feeder": "rated", "case": "p50", "v_min_pu": 0.96, "loading_max_pct": 50.0,
         "loading_max_element": "trafo 0"},
        {**base, "feeder": "rated", "case": "p90", "v_min_pu": 0.95, "loading_max_pct": 70.0,
         "loading_max_element": "line 5"},
        {**base, "feeder": "unrated", "case": "p50", "v_min_pu": 0.94, "loading_max_pct": np.nan,
         "loading_max_element": ""},
    ]  # fmt: skip
    s = health_summary(health_frame(rows)).set_index("feeder")
    assert s.loc["rated", "loading_max_pct"] == 70.0 and s.loc["rated", "loading_max_element"] == "line 5"
    assert s.loc["rated", "loading_case"] == "p90"
    assert np.isnan(s.loc["unrated", "loading_max_pct"]) and s.loc["unrated", "loading_max_element"] == ""
    assert s.loc["unrated", "v_min_case"] == "p50" and s.loc["unrated", "v_min_time"] == t
