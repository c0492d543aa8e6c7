"""Unit tests of the day-ahead job's building blocks (no data files, no cluster)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridai.config import parse_config
from gridai.exceptions import ExitCode, GridAIConfigError
from gridai.grid.health import HealthConfig, feeder_health, health_frame, health_summary
from gridai.outputs import OutputDir, OutputNotWritableError, RunInProgressError
from gridai.pipelines.dayahead.config import DayAheadConfig
from gridai.pipelines.dayahead.feeders import FeederSpec, SyntheticFeeders, feeder_demand, synthetic_feeders
from gridai.pipelines.dayahead.manifest import RunManifest, stable_view
from gridai.pipelines.distributed import task_key

from support import FIXTURES, REPO_ROOT, NetFactory

DAY = pd.date_range("2008-06-30", periods=24, freq="h")


def _quantile_frame(base: float = 2000.0) -> pd.DataFrame:
    shape = base * (0.7 + 0.3 * np.sin(np.linspace(0, np.pi, 24)))
    return pd.DataFrame({q: shape * (0.8 + 0.4 * q) for q in (0.1, 0.5, 0.9)}, index=DAY)


# ------------------------------------------------------------------------------------ outputs
def test_output_dir_publishes_atomically_and_replaces(tmp_path: Path) -> None:
    with OutputDir(tmp_path, "2008-06-30") as out:
        out.path("a.txt").write_text("first")
        assert not (tmp_path / "2008-06-30").exists(), "nothing visible before publish"
        out.publish()
    with OutputDir(tmp_path, "2008-06-30") as out:
        out.path("b.txt").write_text("second")
        out.publish()
    final = tmp_path / "2008-06-30"
    assert sorted(p.name for p in final.iterdir()) == ["b.txt"], "a rerun replaces, never merges"
    hidden = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]
    assert hidden == [], f"staging/aside dirs left behind: {hidden}"


def test_output_dir_unpublished_staging_is_removed(tmp_path: Path) -> None:
    with OutputDir(tmp_path, "d") as out:
        out.path("x").write_text("x")
        staging = out.staging
    assert not staging.exists() and not (tmp_path / "d").exists()


def test_output_dir_recovers_a_crash_between_the_two_renames(tmp_path: Path) -> None:
    # A run died after moving D aside and before renaming its staging dir into place.
    (tmp_path / ".d.old-abc").mkdir()
    (tmp_path / ".d.old-abc" / "run.json").write_text("{}")
    (tmp_path / ".d.tmp-dead").mkdir()
    with OutputDir(tmp_path, "d"):
        assert (tmp_path / "d" / "run.json").read_text() == "{}"
        assert not (tmp_path / ".d.tmp-dead").exists()


def test_output_dir_lock_refuses_a_concurrent_run(tmp_path: Path) -> None:
    with OutputDir(tmp_path, "d"), pytest.raises(RunInProgressError), OutputDir(tmp_path, "d"):
        pass


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_output_dir_not_writable_permissions(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputNotWritableError), OutputDir(ro, "d"):
            pass
    finally:
        ro.chmod(0o700)


def test_output_dir_not_writable_path_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutputNotWritableError) as err, OutputDir(blocker / "out", "d"):
        pass
    assert err.value.exit_code == ExitCode.BAD_INPUT


# ------------------------------------------------------------------------------------ manifest
def test_manifest_records_steps_fallbacks_and_writes_atomically(tmp_path: Path) -> None:
    m = RunManifest(job="day-ahead", date="2008-06-30")
    with m.step("data") as rec:
        rec["series"] = 3
    with pytest.raises(ValueError), m.step("forecast"):
        raise ValueError("boom")
    m.add_fallback("dispatch", "idle_schedule", "infeasible", feeder="f1")
    m.finish(ExitCode.FALLBACK)
    doc = json.loads(m.write(tmp_path / "run.json").read_text())
    assert doc["status"] == "fallback" and doc["exit_code"] == 1
    assert doc["steps"]["data"]["status"] == "ok" and doc["steps"]["forecast"]["status"] == "failed"
    assert doc["fallbacks"][0]["feeder"] == "f1"
    assert "run_id" not in stable_view(doc) and "steps" not in stable_view(doc)
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


# ------------------------------------------------------------------------------------ config
def test_config_rejects_unknown_key_and_duplicate_feeders() -> None:
    with pytest.raises(GridAIConfigError, match="unknown key 'dispatch.time_limit'"):
        parse_config(
            DayAheadConfig, {"feeders": [{"name": "a", "series": "zone_1"}], "dispatch": {"time_limit": 3}}
        )
    with pytest.raises(GridAIConfigError, match="unique"):
        parse_config(
            DayAheadConfig, {"feeders": [{"name": "a", "series": "z"}, {"name": "a", "series": "z"}]}
        )
    with pytest.raises(GridAIConfigError, match="no feeders"):
        parse_config(DayAheadConfig, {})


def test_shipped_configs_parse() -> None:
    from gridai.config import load_config

    for p in (REPO_ROOT / "configs" / "dayahead.yaml", FIXTURES / "dayahead_tiny.yaml"):
        assert load_config(DayAheadConfig, p).feeders


# ------------------------------------------------------------------------------------ feeders
def test_feeder_demand_scales_and_keeps_quantiles_ordered() -> None:
    fc = _quantile_frame()
    spec = FeederSpec(name="f", series="zone_1", peak_kw=1000.0, noise=0.05)
    d = feeder_demand(fc, reference_kw=4000.0, spec=spec, nominal_kw=3715.0)
    assert (np.diff(d.to_numpy(), axis=1) >= 0).all()
    again = feeder_demand(fc, reference_kw=4000.0, spec=spec, nominal_kw=3715.0)
    pd.testing.assert_frame_equal(d, again)  # deterministic noise
    plain = feeder_demand(fc, 4000.0, FeederSpec(name="f", series="zone_1", peak_kw=1000.0), 3715.0)
    np.testing.assert_allclose(plain.to_numpy(), fc.to_numpy() * 0.25)


def test_synthetic_feeders_are_deterministic_and_cycle_zones() -> None:
    cfg = SyntheticFeeders(count=25, seed=3)
    a = synthetic_feeders(cfg, ["zone_1", "zone_2"], {"case33bw": 3715.0})
    b = synthetic_feeders(cfg, ["zone_1", "zone_2"], {"case33bw": 3715.0})
    assert [f.model_dump() for f in a] == [f.model_dump() for f in b]
    assert len({f.name for f in a}) == 25 and {f.series for f in a} == {"zone_1", "zone_2"}
    assert all(0.4 * 3715 <= f.peak_kw <= 0.9 * 3715 for f in a if f.peak_kw is not None)


def test_task_keys_are_stable_per_item_and_distinct() -> None:
    assert task_key("feeder", "run1", "a") == task_key("feeder", "run1", "a")
    assert len({task_key("feeder", "run1", n) for n in "abcdef"} | {task_key("feeder", "run2", "a")}) == 7


# ------------------------------------------------------------------------------------ health
def test_feeder_health_flags_low_voltage_and_battery_relieves_it(case33bw: NetFactory) -> None:
    net = case33bw()
    demand = _quantile_frame(3715.0)
    batt = pd.DataFrame({17: np.full(24, 400.0)}, index=DAY)  # discharging at the weakest bus
    cfg = HealthConfig(peak_intervals=2)
    rows = feeder_health(net, "f", demand, cfg, batt)
    df = health_frame(rows)
    assert set(df["case"]) == {"p50", "p90", "p50_dispatched"} and len(df) == 6
    assert df["converged"].all()
    p50 = df[df["case"] == "p50"].set_index("time")
    p90 = df[df["case"] == "p90"].set_index("time")
    disp = df[df["case"] == "p50_dispatched"].set_index("time")
    assert (p90["v_min_pu"] < p50["v_min_pu"]).all(), "more load, lower voltage"
    assert (disp["v_min_pu"] > p50["v_min_pu"]).all(), "injection at the weak bus lifts its voltage"
    assert (p50["losses_kw"] > 0).all() and (p50["n_low_voltage"] > 0).all()
    summary = health_summary(df)
    assert summary.loc[0, "v_min_pu"] == pytest.approx(df["v_min_pu"].min())
    assert "buses < 0.95 pu" in summary.loc[0, "flags"]


# ------------------------------------------------------------------------------------ tracking
def test_run_logged_to_mlflow_once_per_day(tmp_path: Path) -> None:
    from mlflow import MlflowClient

    from gridai.pipelines.dayahead.publish import log_to_mlflow
    from gridai.tracking.config import TrackingConfig
    from gridai.tracking.store import ModelStore

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = ModelStore(MlflowClient(tracking_uri=uri), TrackingConfig(experiment="gridai-dayahead",
                                                                      artifact_location=(tmp_path / "art").as_uri()))  # fmt: skip
    out = tmp_path / "2008-06-30"
    out.mkdir()
    (out / "schedules.csv").write_text("feeder,asset,time,p_kw,soc_kwh\n")
    ids = []
    for _ in range(2):  # the same day twice: the second run replaces the first
        m = RunManifest(job="day-ahead", date="2008-06-30")
        m.model = {"used": "baseline:seasonal_naive", "substituted": False}
        m.feeders = {"f1": {"costs": {"total": 10.0, "saving": 1.0}}}
        m.finish(ExitCode.OK)
        log_to_mlflow(store, m, out)
        assert m.tracking["status"] == "logged", m.tracking
        ids.append(m.tracking["run_id"])
    active = store.client.search_runs(
        [store.experiment_id()], filter_string="tags.`gridai.run_key` = 'day-ahead:2008-06-30'"
    )
    assert [r.info.run_id for r in active] == [ids[1]]
    assert active[0].data.metrics["cost_total"] == 10.0
    assert "day-ahead/schedules.csv" in [f.path for f in store.client.list_artifacts(ids[1], "day-ahead")]
