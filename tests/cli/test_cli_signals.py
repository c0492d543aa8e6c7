"""SIGTERM during the day-ahead job: exit 143, the run recorded as failed, nothing published."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import gefcom_job_yaml


@pytest.mark.slow
def test_sigterm_records_the_run_and_publishes_nothing(tmp_path: Path) -> None:
    cfg = tmp_path / "job.yaml"
    feeders = ", ".join(f"{{name: f{i}, series: zone_1, network: mv_oberrhein}}" for i in range(12))
    cfg.write_text(gefcom_job_yaml(f"[{feeders}]"))
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridai.cli.main", "run", "day-ahead", "--date", "2008-06-30", "-c", str(cfg),
         "--out", str(out), "--no-dask"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob(".2008-06-30.tmp-*")):
        time.sleep(0.1)  # wait until the job has started staging its outputs
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    record = json.loads((out / "2008-06-30.run.failed.json").read_text())
    assert record["exit_code"] == 143 and "SIGTERM" in record["error"]["message"]
    assert not (out / "2008-06-30").exists() and not list(out.glob(".2008-06-30.tmp-*"))
