"""Every ``--json`` prints exactly one JSON document on stdout; logs and solver output go to stderr.

Run as real processes: HiGHS prints its banner from C on file descriptor 1, which an in-process
runner cannot see.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from gridai.dispatch.testing import daily_profile_kw, make_forecast

pytestmark = pytest.mark.slow  # every test starts a real gridai process: ~4-5 s each on 2 cores


def _gridai(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridai.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _one_document(stdout: str) -> object:
    doc = json.loads(stdout)  # raises on anything but exactly one JSON value
    assert stdout.strip().count("\n") == 0, "one document, on one line"
    return doc


def test_restore_json_is_one_document_and_the_solver_banner_goes_to_stderr(tmp_path: Path) -> None:
    res = _gridai(["restore", "--network", "case33bw", "--fault-line", "7", "--json"], tmp_path)
    assert res.returncode == 0, res.stderr
    doc = _one_document(res.stdout)
    assert isinstance(doc, dict) and doc["ok"] is True and doc["restored_kw"] > 0
    assert "HiGHS" in res.stderr  # the banner is still there, on stderr


def test_json_error_is_a_document_too(tmp_path: Path) -> None:
    res = _gridai(["restore", "--network", "case33bw", "--fault-line", "999", "--json"], tmp_path)
    assert res.returncode == 2
    doc = _one_document(res.stdout)
    assert isinstance(doc, dict)
    assert doc["ok"] is False and doc["exit_code"] == 2 and "999" in doc["error"]
    assert "999" in res.stderr  # and the message on stderr for a person


def test_dispatch_json_is_one_document(tmp_path: Path) -> None:
    ds = make_forecast({"zone_1": daily_profile_kw(96, 2000.0)}, quantiles=(0.1, 0.5, 0.9))
    fdir = tmp_path / "fc"
    fdir.mkdir()
    ds.to_netcdf(fdir / "forecast.nc", engine="h5netcdf")
    cfg = {"feeders": [{"name": "zone_1", "batteries": [{"name": "B1", "power_kw": 200, "energy_kwh": 800}]}]}
    cpath = tmp_path / "dispatch.yaml"
    cpath.write_text(yaml.safe_dump(cfg))
    res = _gridai(
        ["dispatch", "-c", str(cpath), "--forecast", str(fdir), "--out", str(tmp_path / "o"), "--json"],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    doc = _one_document(res.stdout)
    assert isinstance(doc, dict) and set(doc) == {"zone_1"}
    assert np.isfinite(doc["zone_1"]["costs"]["total"])


def test_logs_to_a_pipe_are_one_line_per_record(tmp_path: Path) -> None:
    res = _gridai(["restore", "--network", "case33bw", "--fault-line", "7"], tmp_path)
    assert res.returncode == 0
    records = [ln for ln in res.stderr.splitlines() if " INFO " in ln or " WARNING " in ln]
    assert records, res.stderr
    for ln in records:
        assert ln.split(" ", 2)[2].split(" ", 1)[0] in {"INFO", "WARNING"}, ln


def test_run_day_ahead_json_is_one_document(tmp_path: Path) -> None:
    from support import gefcom_job_yaml

    cfg = tmp_path / "job.yaml"
    cfg.write_text(gefcom_job_yaml())
    res = _gridai(
        ["run", "day-ahead", "--date", "2008-06-30", "-c", str(cfg), "--out", "out", "--no-dask", "--json"],
        tmp_path,
    )
    assert res.returncode == 1, res.stderr  # the named champion does not exist: the baseline, flagged
    doc = _one_document(res.stdout)
    assert isinstance(doc, dict) and doc["exit_code"] == 1 and doc["status"] == "fallback"
    assert [f["kind"] for f in doc["fallbacks"]] == ["substituted"]
    assert doc["outputs"].endswith("2008-06-30")
