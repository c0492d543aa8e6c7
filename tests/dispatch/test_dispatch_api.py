"""Dispatch API and CLI: input rejection, explanations, scenarios, VPP, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from gridai.cli.main import app
from gridai.dispatch.api import dispatch, dispatch_feeder
from gridai.dispatch.scenarios import midpoint_weights
from gridai.dispatch.testing import config, daily_profile_kw, make_forecast
from gridai.exceptions import GridAIConfigError, GridAIDataError, GridAIInfeasibleError

BAT = dict(name="B1", power_kw=100.0, energy_kwh=400.0)


def _fc(n_t: int = 24, **kw):
    return make_forecast(daily_profile_kw(n_t, 500.0), freq="1h", **kw)


@pytest.mark.parametrize(
    ("battery", "key"),
    [
        pytest.param({**BAT, "energy_kwh": -5.0}, "energy_kwh", id="negative-capacity"),
        pytest.param({**BAT, "soc_min_frac": 0.8, "soc_max_frac": 0.2}, "inverted", id="inverted-soc"),
        pytest.param({**BAT, "typo_kw": 1.0}, "typo_kw", id="unknown-key"),
    ],
)
def test_bad_config_rejected_before_building(battery, key: str) -> None:
    with pytest.raises(GridAIConfigError) as err:
        config([dict(name="f1", batteries=[battery])])
    assert key in str(err.value) and err.value.exit_code == 2


def test_nan_in_forecast_names_series_and_time() -> None:
    fc = _fc()
    fc["load_forecast"][5, 0, 0] = np.nan
    with pytest.raises(GridAIDataError) as err:
        dispatch_feeder(config([dict(name="f1", batteries=[BAT])]), fc, feeder="f1")
    assert "NaN" in str(err.value) and "f1" in str(err.value) and "05:00" in str(err.value)


def test_feeder_missing_from_forecast() -> None:
    with pytest.raises(GridAIDataError, match="missing from the forecast.*zone_9"):
        dispatch_feeder(config([dict(name="zone_9", batteries=[BAT])]), _fc(), feeder="zone_9")


def test_unreachable_terminal_soc_explained() -> None:
    bat = dict(name="B3", power_kw=100.0, energy_kwh=4000.0, soc_initial_frac=0.1, soc_terminal_frac=0.9)
    with pytest.raises(GridAIInfeasibleError) as err:
        dispatch_feeder(config([dict(name="f1", batteries=[bat])]), _fc(), feeder="f1")
    assert "terminal SoC 90 % of battery B3 is unreachable: starting at 0.40 MWh, max charge 2.28 MWh" in str(
        err.value
    )
    assert err.value.exit_code == 3


def test_import_limit_conflict_explained_by_elastic_relaxation() -> None:
    """No pre-check covers an import limit that only binds together with an EV need: the elastic
    relaxation names the families in conflict."""
    feeder = dict(
        name="f1",
        import_limit_kw=700.0,
        ev_fleets=[dict(name="EV1", max_power_kw=400.0, arrive_h=17, depart_h=21, energy_kwh=1400.0)],
    )
    with pytest.raises(GridAIInfeasibleError) as err:
        dispatch_feeder(config([feeder]), _fc(), feeder="f1")
    msg = str(err.value)
    assert "EV energy" in msg or "grid import" in msg


def test_scenario_dispatch_shares_first_stage_and_reports_spread() -> None:
    fc = _fc(quantiles=(0.1, 0.5, 0.9))
    cfg = config(
        [dict(name="f1", batteries=[BAT])],
        tariff=dict(demand_charge_per_kw=0.5),
        scenarios=dict(method="quantile_paths"),  # one scenario per quantile level
    )
    det = dispatch_feeder(cfg, fc, feeder="f1", mode="deterministic")
    sc = dispatch_feeder(cfg, fc, feeder="f1", mode="scenario")
    assert len(sc.schedule) == len(det.schedule) == 24  # one battery schedule for all scenarios
    assert sorted(sc.grid["scenario"].unique()) == [0, 1, 2]
    s = sc.scenario_costs
    assert s is not None and s["weights"] == pytest.approx([0.3, 0.4, 0.3])
    assert s["min"] <= s["expected"] <= s["max"] and s["std"] > 0
    assert s["expected"] == pytest.approx(sc.costs["total"], rel=1e-9)
    np.testing.assert_allclose(midpoint_weights([0.05, 0.25, 0.5, 0.75, 0.95]).sum(), 1.0)


def test_vpp_tracking_and_envelope() -> None:
    """A VPP of two feeders' batteries tracks a feasible target exactly; the envelope holds it."""
    target = [25.0] * 12 + [-25.0] * 12  # 300 kWh out (316 kWh from 400 kWh stored), then back in
    bat = {**BAT, "cyclic": False}
    cfg = config(
        [
            dict(name="a", batteries=[{**bat, "name": "Ba"}]),
            dict(name="b", batteries=[{**bat, "name": "Bb"}]),
        ],
        vpp=dict(target_kw=target, tracking_penalty_per_kwh=10.0, envelope=True),
    )
    fc = make_forecast({"a": daily_profile_kw(24, 500.0), "b": daily_profile_kw(24, 300.0)}, freq="1h")
    res = dispatch(cfg, fc)["vpp"]
    v = res.vpp
    np.testing.assert_allclose(v["agg_kw"], target, atol=1e-6)
    assert res.costs["tracking"] == pytest.approx(0.0, abs=1e-6)
    assert (v["env_min_kw"] <= v["agg_kw"] + 1e-6).all() and (v["agg_kw"] <= v["env_max_kw"] + 1e-6).all()
    # two 100 kW batteries: at most 200 kW either way (reached in the first hour)
    assert v["env_max_kw"].iloc[0] == pytest.approx(200.0) and v["env_min_kw"].iloc[0] == pytest.approx(
        -200.0
    )


def _write_inputs(tmp_path: Path, cfg: dict) -> tuple[Path, Path]:
    fc = make_forecast(
        {f"zone_{z}": daily_profile_kw(24, 400.0 * z) for z in (1, 2)}, freq="1h", quantiles=(0.1, 0.5, 0.9)
    )
    fdir = tmp_path / "fc"
    fdir.mkdir()
    fc.to_netcdf(fdir / "forecast.nc", engine="h5netcdf")
    cpath = tmp_path / "cfg.yaml"
    cpath.write_text(yaml.safe_dump(cfg))
    return cpath, fdir


def test_cli_writes_outputs_atomically(tmp_path: Path) -> None:
    cfg = {
        "mode": "scenario",
        "feeders": [
            {"name": "zone_1", "network": {"network": "case33bw", "peak_loading": 0.8, "v_min_pu": 0.9,
             "ac_check_intervals": 2}, "batteries": [{"name": "B1", "bus": 17, "power_frac_of_mean_load": 0.2,
             "duration_h": 4}]},
            {"name": "zone_2", "batteries": [{"name": "B2", "power_frac_of_mean_load": 0.2, "duration_h": 4}]},
        ],
    }  # fmt: skip
    cpath, fdir = _write_inputs(tmp_path, cfg)
    out = tmp_path / "out"
    out.mkdir()
    (out / "theirs.txt").write_text("not written by gridai")
    runner = CliRunner()
    args = ["dispatch", "-c", str(cpath), "--forecast", str(fdir), "--out", str(out), "--json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "did not write" in res.output, (
        "a directory gridai did not write is never replaced"
    )
    assert (out / "theirs.txt").read_text() == "not written by gridai"
    (out / "theirs.txt").unlink()
    res = runner.invoke(app, args)  # empty: gridai's now
    assert res.exit_code == 0, res.output
    (out / "zone_1" / "stale.txt").write_text("old run")
    res = runner.invoke(app, args)  # gridai's own output is replaced as a whole
    assert res.exit_code == 0, res.output
    assert not (out / "zone_1" / "stale.txt").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"zone_1", "zone_2"}
    net = summary["zone_1"]["network"]["zone_1"]
    assert net["lindistflow_vs_ac_max_dv_pu"] < 0.01 and net["violations"] == []
    for f in ("schedule.csv", "grid.csv", "vpp.csv", "schedule.png", "voltage.png", "voltage_band.csv"):
        assert (out / "zone_1" / f).is_file(), f
    assert summary["zone_2"]["scenario_costs"]["expected"] > 0
    assert list(tmp_path.glob(".out-*")) == []  # no temporary directories left behind

    # bad input: exit 2 and the previous output stays as it was
    bad = dict(cfg, feeders=[dict(cfg["feeders"][1], name="zone_7")])
    cpath.write_text(yaml.safe_dump(bad))
    res = runner.invoke(app, ["dispatch", "-c", str(cpath), "--forecast", str(fdir), "--out", str(out)])
    assert res.exit_code == 2 and (out / "summary.json").is_file()
    # infeasible: exit 3
    inf = dict(cfg, feeders=[{"name": "zone_2", "batteries": [{"name": "B2", "power_kw": 1, "energy_kwh": 100,
               "soc_initial_frac": 0.0, "soc_terminal_frac": 1.0}]}])  # fmt: skip
    cpath.write_text(yaml.safe_dump(inf))
    res = runner.invoke(app, ["dispatch", "-c", str(cpath), "--forecast", str(fdir), "--out", str(out)])
    assert res.exit_code == 3
