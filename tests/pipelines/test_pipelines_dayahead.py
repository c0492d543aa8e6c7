"""End-to-end day-ahead job and its fault injection tests (in-process, tiny data).

Data: three GEFCom2012 zones, 35 days before 2008-06-30 plus D, as wide CSVs; the "champion"
is a seasonal-naive forecaster saved to a local model directory; two case33bw feeders. Each
fault test asserts the documented exit code and outcome AND that nothing is lost: every
output file is there, the schedule covers every feeder x asset x interval exactly once, and
``run.json`` says what happened.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.exceptions import ExitCode
from gridai.pipelines.dayahead.job import run_day_ahead
from gridai.pipelines.dayahead.manifest import stable_view

from support import (
    DAYAHEAD_DAY,
    DAYAHEAD_FILES,
    REPO_ROOT,
    check_dayahead_complete,
    dayahead_cfg,
    free_port,
    run_dayahead,
)


# ---------------------------------------------------------------------------------- normal run
def test_run_writes_every_output_and_rerun_is_identical(
    dayahead_reference: Path, dayahead_inputs: dict[str, Path]
) -> None:
    first = check_dayahead_complete(dayahead_reference, {"f1", "f2"})
    assert first["status"] == "ok" and first["exit_code"] == 0 and first["fallbacks"] == []
    assert first["model"]["substituted"] is False
    assert all(f["status"] == "optimal" for f in first["feeders"].values())
    assert {Path(p).name for p in first["inputs"]["files"]} == {"load.csv", "weather.csv"}
    assert set(first["outputs"]) == set(DAYAHEAD_FILES) - {"run.json"}
    saved = {
        n: (dayahead_reference / DAYAHEAD_DAY / n).read_bytes()
        for n in ("schedules.csv", "network_health.csv")
    }
    fc = xr.load_dataset(dayahead_reference / DAYAHEAD_DAY / "forecast.nc", engine="h5netcdf")

    res = run_dayahead(dayahead_cfg(dayahead_inputs), dayahead_reference)  # same day again, same output root
    again = check_dayahead_complete(dayahead_reference, {"f1", "f2"})
    assert res.exit_code == ExitCode.OK
    for name, data in saved.items():
        assert (dayahead_reference / DAYAHEAD_DAY / name).read_bytes() == data, (
            f"{name} differs between identical runs"
        )
    xr.testing.assert_identical(
        fc, xr.load_dataset(dayahead_reference / DAYAHEAD_DAY / "forecast.nc", engine="h5netcdf")
    )
    assert stable_view(again) == stable_view(first)
    assert again["run_id"] != first["run_id"]


# ---------------------------------------------------------------------------------- fault injection
@pytest.mark.slow
def test_fault_killed_while_writing_outputs_keeps_previous(
    dayahead_reference: Path, dayahead_inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(dayahead_reference, out)
    before = {n: (out / DAYAHEAD_DAY / n).read_bytes() for n in DAYAHEAD_FILES}
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(dayahead_cfg(dayahead_inputs).model_dump_json())
    script = textwrap.dedent(
        f"""
        import os, signal
        from gridai.pipelines.dayahead import publish
        from gridai.pipelines.dayahead.job import run_day_ahead
        from gridai.pipelines.dayahead.config import DayAheadConfig
        real = publish.render_report
        def render_then_die(*a, **k):
            html = real(*a, **k)  # forecast.nc and the CSVs are already in the staging dir
            os.kill(os.getpid(), signal.SIGKILL)
        publish.render_report = render_then_die
        cfg = DayAheadConfig.model_validate_json(open({str(cfg_path)!r}).read())
        run_day_ahead(cfg, {DAYAHEAD_DAY!r}, {str(out)!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert {n: (out / DAYAHEAD_DAY / n).read_bytes() for n in DAYAHEAD_FILES} == before, (
        "previous outputs must stay intact"
    )
    staged = list(out.glob(f".{DAYAHEAD_DAY}.tmp-*"))
    assert len(staged) == 1 and (staged[0] / "schedules.csv").exists(), "the kill happened mid-write"
    from gridai.outputs import OutputDir

    with OutputDir(out, DAYAHEAD_DAY):  # what the next run does first: remove the killed run's staging dir
        pass
    assert check_dayahead_complete(out, {"f1", "f2"})["status"] == "ok"


def test_fault_corrupted_champion_substitutes_baseline(
    dayahead_inputs: dict[str, Path], tmp_path: Path
) -> None:
    bad = tmp_path / "champion"
    shutil.copytree(dayahead_inputs["champion"], bad)
    (bad / "arrays.safetensors").write_bytes(b"\x00garbage" * 10)
    res = run_dayahead(
        dayahead_cfg(dayahead_inputs, model={"uri": str(bad), "fallback": "seasonal_naive"}), tmp_path / "out"
    )
    assert res.exit_code == ExitCode.FALLBACK
    doc = check_dayahead_complete(tmp_path / "out", {"f1", "f2"})
    assert doc["model"]["substituted"] is True and doc["model"]["used"] == "baseline:seasonal_naive"
    assert "corrupt" in doc["model"]["reason"]
    assert [f["kind"] for f in doc["fallbacks"]] == ["substituted"]
    assert "SUBSTITUTED" in (tmp_path / "out" / DAYAHEAD_DAY / "report.html").read_text()


def test_fault_tracking_server_unreachable(dayahead_inputs: dict[str, Path], tmp_path: Path) -> None:
    from gridai.cli.run import _mlflow_client

    cfg = dayahead_cfg(dayahead_inputs, track_runs=True, tracking={"tracking_uri": f"http://127.0.0.1:{free_port()}",
                                                    "connect_timeout_s": 2})  # fmt: skip
    client, error = _mlflow_client(cfg)
    assert client is None and "unreachable" in str(error)
    res = run_dayahead(cfg, tmp_path / "out", mlflow_client=client, mlflow_error=error)
    assert res.exit_code == ExitCode.FALLBACK
    doc = check_dayahead_complete(tmp_path / "out", {"f1", "f2"})
    assert doc["tracking"]["status"] == "unreachable"
    assert [f["kind"] for f in doc["fallbacks"]] == ["tracking_unreachable"]
    assert doc["model"]["substituted"] is False, "a local champion does not need the tracking store"


def test_fault_weather_for_d_missing(dayahead_inputs: dict[str, Path], tmp_path: Path) -> None:
    cfg = dayahead_cfg(dayahead_inputs, data={"kind": "wide_csv", "load_path": str(dayahead_inputs["load"]),
                               "weather_path": str(dayahead_inputs["dir"] / "weather_no_d.csv"), "history_days": 30})  # fmt: skip
    res = run_dayahead(cfg, tmp_path / "out")
    assert res.exit_code == ExitCode.FALLBACK
    doc = check_dayahead_complete(tmp_path / "out", {"f1", "f2"})
    assert doc["model"]["substituted"] is True and "weather" in doc["model"]["reason"]
    assert any("weather" in w for w in doc["warnings"])


def test_fault_one_feeder_series_all_nan(dayahead_inputs: dict[str, Path], tmp_path: Path) -> None:
    cfg = dayahead_cfg(dayahead_inputs, data={"kind": "wide_csv", "load_path": str(dayahead_inputs["dir"] / "load_nan.csv"),
                               "weather_path": str(dayahead_inputs["weather"]), "history_days": 30})  # fmt: skip
    res = run_dayahead(cfg, tmp_path / "out")
    assert res.exit_code == ExitCode.FALLBACK
    doc = check_dayahead_complete(tmp_path / "out", {"f1"})
    assert doc["feeders"]["f2"]["status"] == "no_data"
    assert doc["feeders"]["f1"]["status"] == "optimal"
    kinds = {(f["kind"], f["feeder"]) for f in doc["fallbacks"]}
    assert ("no_data", "f2") in kinds and ("substituted", None) in kinds
    with xr.open_dataset(tmp_path / "out" / DAYAHEAD_DAY / "forecast.nc", engine="h5netcdf") as ds:
        assert np.isnan(ds["load_forecast"].sel(series="zone_2").values).all()
        assert np.isfinite(ds["load_forecast"].sel(series="zone_1").values).all()


def test_fault_infeasible_battery_on_one_feeder(dayahead_inputs: dict[str, Path], tmp_path: Path) -> None:
    battery = {
        "name": "b",
        "power_kw": 10,
        "energy_kwh": 1000,
        "soc_initial_frac": 0.1,
        "soc_terminal_frac": 0.95,
    }
    feeders = [
        {"name": "f1", "series": "zone_1", "network": "case33bw"},
        {"name": "f2", "series": "zone_2", "network": "case33bw", "batteries": [battery]},
    ]
    res = run_dayahead(dayahead_cfg(dayahead_inputs, feeders=feeders), tmp_path / "out")
    assert res.exit_code == ExitCode.FALLBACK
    doc = check_dayahead_complete(tmp_path / "out", {"f1", "f2"})
    assert doc["feeders"]["f1"]["status"] == "optimal"
    f2 = doc["feeders"]["f2"]
    assert f2["status"] == "infeasible" and f2["fallback"] == "idle_schedule" and "b" in f2["reason"]
    sched = pd.read_csv(tmp_path / "out" / DAYAHEAD_DAY / "schedules.csv")
    assert (sched.loc[sched["feeder"] == "f2", "p_kw"] == 0).all(), "the safe schedule is idle"
    assert "idle_schedule" in (tmp_path / "out" / DAYAHEAD_DAY / "report.html").read_text()

    # with dispatch.idle_on_failure false the same outcome is exit 3 (idle schedule still published)
    from gridai.pipelines.dayahead.job import _exit_code

    strict = dayahead_cfg(
        dayahead_inputs, feeders=feeders, dispatch={"time_limit_s": 20, "idle_on_failure": False}
    )
    assert _exit_code(strict, res.manifest, ["f2"]) == ExitCode.INFEASIBLE
    assert "f2" in res.manifest.error["message"]  # type: ignore[index]


def test_fault_solver_time_limit_hit(dayahead_inputs: dict[str, Path], tmp_path: Path) -> None:
    res = run_dayahead(
        dayahead_cfg(dayahead_inputs, dispatch={"time_limit_s": 1e-6, "ac_check_intervals": 1}),
        tmp_path / "out",
    )
    assert res.exit_code == ExitCode.FALLBACK
    doc = check_dayahead_complete(tmp_path / "out", {"f1", "f2"})
    for name in ("f1", "f2"):
        rec = doc["feeders"][name]
        assert rec["fallback"] in ("best_feasible_timeout", "idle_schedule"), rec
        assert "time limit" in rec["reason"]


def test_fault_output_directory_not_writable(dayahead_inputs: dict[str, Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gridai.cli.main import app

    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the output root should be")
    cfg_path = tmp_path / "cfg.yaml"
    import yaml

    cfg_path.write_text(yaml.safe_dump(json.loads(dayahead_cfg(dayahead_inputs).model_dump_json())))
    result = CliRunner().invoke(
        app,
        [
            "run",
            "day-ahead",
            "--date",
            DAYAHEAD_DAY,
            "-c",
            str(cfg_path),
            "--out",
            str(blocker / "out"),
            "--no-dask",
        ],
    )
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "not writable" in result.output or "cannot be created" in result.output
    assert blocker.read_text().startswith("a file"), "nothing was written"


def test_bad_date_and_date_outside_data(dayahead_inputs: dict[str, Path], tmp_path: Path) -> None:
    res = run_day_ahead(dayahead_cfg(dayahead_inputs), "2009-01-01", tmp_path)
    assert res.exit_code == ExitCode.BAD_INPUT
    doc = json.loads((tmp_path / "2009-01-01.run.failed.json").read_text())
    assert doc["status"] == "bad_input" and "2009-01-01" in doc["error"]["message"]
    assert not (tmp_path / "2009-01-01").exists(), "a failed run does not look as if D had run"


def test_failure_after_success_keeps_outputs(
    dayahead_reference: Path, dayahead_inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(dayahead_reference, out)
    before = (out / DAYAHEAD_DAY / "schedules.csv").read_bytes()
    bad = dayahead_cfg(dayahead_inputs, data={"kind": "wide_csv", "load_path": str(tmp_path / "missing.csv"),
                               "weather_path": str(dayahead_inputs["weather"])})  # fmt: skip
    res = run_dayahead(bad, out)
    assert res.exit_code == ExitCode.BAD_INPUT
    assert (out / DAYAHEAD_DAY / "schedules.csv").read_bytes() == before
    failed = json.loads((out / f"{DAYAHEAD_DAY}.run.failed.json").read_text())
    assert failed["status"] == "bad_input" and "missing.csv" in failed["error"]["message"]
    assert json.loads((out / DAYAHEAD_DAY / "run.json").read_text())["status"] == "ok"
    assert not (out / DAYAHEAD_DAY / "run.failed.json").exists(), "the published run is left untouched"
    # the next good run of D publishes and clears the failure record
    assert run_dayahead(dayahead_cfg(dayahead_inputs), out).exit_code in (ExitCode.OK, ExitCode.FALLBACK)
    assert not (out / f"{DAYAHEAD_DAY}.run.failed.json").exists()


def test_disk_full_while_writing_is_exit_2_and_leaves_nothing(
    dayahead_reference: Path,
    dayahead_inputs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import errno

    import gridai.pipelines.dayahead.publish as publish

    out = tmp_path / "out"
    shutil.copytree(dayahead_reference, out)
    before = {p.name: p.read_bytes() for p in (out / DAYAHEAD_DAY).iterdir()}
    real = publish.write_outputs

    def fill_disk(*args: object, **kw: object) -> None:
        real(*args, **kw)  # type: ignore[arg-type]
        raise OSError(errno.ENOSPC, "No space left on device", str(out / "x"))

    monkeypatch.setattr(publish, "write_outputs", fill_disk)
    res = run_dayahead(dayahead_cfg(dayahead_inputs), out)
    assert res.exit_code == ExitCode.BAD_INPUT
    assert {p.name: p.read_bytes() for p in (out / DAYAHEAD_DAY).iterdir()} == before
    assert not [p for p in out.iterdir() if ".tmp-" in p.name], "no staging left behind"
    record = json.loads((out / f"{DAYAHEAD_DAY}.run.failed.json").read_text())
    assert "No space left on device" in record["error"]["message"]
