"""Restoration readiness in the day-ahead job: N-1 FLISR plans at the forecast peak."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridai.dispatch.config import BatteryConfig
from gridai.pipelines.dayahead.job import run_day_ahead
from gridai.pipelines.dayahead.readiness import (
    ReadinessConfig,
    candidate_faults,
    feeder_readiness,
    readiness_frame,
    readiness_summary,
)
from gridai.restoration import restore
from gridai.restoration.network import prepare_network

from support import DAYAHEAD_DAY, NetFactory, dayahead_cfg

LEVELS = [0.1, 0.5, 0.9]


def _demand(peak_kw: float = 3000.0) -> pd.DataFrame:
    times = pd.date_range("2008-06-30", periods=24, freq="h")
    med = peak_kw * (0.6 + 0.4 * np.sin(np.linspace(0, np.pi, 24)))  # peak at hour 11/12
    return pd.DataFrame({0.1: 0.9 * med, 0.5: med, 0.9: 1.1 * med}, index=times)


@pytest.mark.slow
def test_faults_are_planned_largest_interruption_first_and_match_restore(case33bw: NetFactory) -> None:
    cfg = ReadinessConfig(enabled=True, max_faults=4)
    demand = _demand()
    rows = feeder_readiness(case33bw(), "north", demand, cfg)
    df = readiness_frame(rows)
    assert len(df) == 4
    med = demand[0.5]
    assert (df["time"] == med.idxmax()).all() and np.allclose(df["load_kw"], med.max())
    # the largest interruptions of the whole network, in order
    net = case33bw()
    net.load["scaling"] = med.max() / 1000.0 / net.load["p_mw"].sum()
    rn = prepare_network(net, cfg.restoration, "north")
    every = candidate_faults(rn, None)
    assert len(every) > 4 and [c[0] for c in every[:4]] == [r["fault_line"] for r in rows]
    assert all(a[1] >= b[1] for a, b in zip(every, every[1:], strict=False))
    for r in rows:  # each row is what restore() plans on the scaled network
        plan = restore(rn, [r["fault_line"]])
        assert r["restored_kw"] == pytest.approx(plan.restored_kw)
        assert r["interrupted_kw"] == pytest.approx(plan.interrupted_kw) and r["interrupted_kw"] > 0
        assert 0.0 <= r["restored_pct"] <= 100.0 + 1e-9
        assert r["verified"], r["problem"]
    assert df["interrupted_kw"].sum() > df["restored_kw"].sum() > 0


def test_plans_use_the_configured_quantile(case33bw: NetFactory) -> None:
    demand = _demand()
    lo = feeder_readiness(case33bw(), "f", demand, ReadinessConfig(max_faults=1, quantile=0.5))
    hi = feeder_readiness(case33bw(), "f", demand, ReadinessConfig(max_faults=1, quantile=0.9))
    assert hi[0]["load_kw"] == pytest.approx(1.1 * lo[0]["load_kw"])
    assert hi[0]["interrupted_kw"] == pytest.approx(1.1 * lo[0]["interrupted_kw"])


def test_meshed_network_is_reported_not_raised(case33bw: NetFactory) -> None:
    net = case33bw()
    net.line["in_service"] = True  # close every tie: five loops
    rows = feeder_readiness(net, "meshed", _demand(), ReadinessConfig(max_faults=2))
    assert len(rows) == 1 and rows[0]["status"] == "error" and "loop" in rows[0]["problem"]
    summary = readiness_summary(readiness_frame(rows))
    assert summary.iloc[0]["faults"] == 0 and "loop" in summary.iloc[0]["problem"]


def test_summary_names_the_worst_fault_and_sorts_exposed_feeders_first() -> None:
    rows = [
        {"feeder": "a", "fault_line": 1, "restored_pct": 90.0, "unserved_kw": 10.0, "verified": True},
        {"feeder": "a", "fault_line": 2, "restored_pct": 40.0, "unserved_kw": 60.0, "verified": False},
        {"feeder": "b", "fault_line": 5, "restored_pct": 100.0, "unserved_kw": 0.0, "verified": True},
    ]
    s = readiness_summary(readiness_frame(rows))
    assert list(s["feeder"]) == ["a", "b"]
    a = s.iloc[0]
    assert a["worst_fault_line"] == 2 and a["worst_restored_pct"] == 40.0 and a["not_verified"] == 1
    assert a["mean_restored_pct"] == pytest.approx(65.0) and a["fully_restored"] == 0
    assert s.iloc[1]["fully_restored"] == 1


@pytest.mark.slow
def test_day_ahead_job_writes_readiness_and_reports_it(
    dayahead_inputs: dict[str, Path], tmp_path: Path
) -> None:
    cfg = dayahead_cfg(dayahead_inputs, readiness={"enabled": True, "max_faults": 3})
    res = run_day_ahead(cfg, DAYAHEAD_DAY, tmp_path / "out")
    assert int(res.exit_code) == 0
    d = tmp_path / "out" / DAYAHEAD_DAY
    df = pd.read_csv(d / "restoration_readiness.csv")
    assert set(df["feeder"]) == {"f1", "f2"} and len(df) == 6
    assert df["verified"].all() and (df["restored_kw"] <= df["interrupted_kw"] + 1e-6).all()
    assert "Restoration readiness" in (d / "report.html").read_text()
    assert "restoration_readiness.csv" in res.manifest.outputs


def test_feeder_batteries_carry_islands_with_the_energy_left_at_the_peak(case33bw: NetFactory) -> None:
    """case33bw's feeder-head fault (line 0) restores nothing from ties; a 400 kW / 800 kWh battery
    at bus 17 can carry an island with what its schedule leaves at the peak."""
    demand = _demand(2500.0)
    t_peak = demand[0.5].idxmax()
    bess = BatteryConfig(
        name="b1", bus=17, power_kw=400.0, energy_kwh=800.0, soc_initial_frac=0.5, soc_min_frac=0.1
    )

    def schedule(soc_kwh: float) -> pd.DataFrame:
        return pd.DataFrame({"asset": ["b1"], "time": [t_peak], "p_kw": [0.0], "soc_kwh": [soc_kwh]})

    def line0(cfg: ReadinessConfig, soc_kwh: float) -> dict[str, object]:
        rows = feeder_readiness(case33bw(), "f", demand, cfg, [bess], schedule(soc_kwh))
        return next(r for r in rows if r["fault_line"] == 0)

    on = ReadinessConfig(max_faults=1, battery_islands=True)
    full = line0(on, 800.0)
    assert full["islands"] == "b1" and full["verified"]
    # 720 kWh usable over the 2 h island duration: 360 kW, less the 5 % margin (and any AC re-solve)
    assert 0.85 * 342.0 < full["restored_kw"] <= 342.0 + 1e-6
    half = line0(on, 440.0)  # 360 kWh usable: half the power
    assert half["restored_kw"] == pytest.approx(full["restored_kw"] / 2, rel=0.05)
    assert line0(on, 80.0)["restored_kw"] == 0.0  # empty at the peak: nothing to island with
    assert line0(ReadinessConfig(max_faults=1), 800.0)["restored_kw"] == 0.0  # off by default
