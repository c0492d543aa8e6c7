"""The day-ahead job on a real Dask cluster: a scheduler and two workers started on 127.0.0.1.

One worker is killed (SIGKILL) while it runs feeder tasks; the scheduler reruns them on the
other worker under the same keys, and the published outputs must be complete, without
duplicates, and identical to an in-process run of the same job.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gridai.exceptions import ExitCode

from support import DAYAHEAD_DAY, REPO_ROOT, check_dayahead_complete, dayahead_cfg, free_port, run_dayahead

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,  # a scheduler, two workers and a killed worker: ~8 s
    # distributed warns about closed comms and the lost worker; both are what this test provokes
    pytest.mark.filterwarnings("ignore::RuntimeWarning:distributed.*"),
    pytest.mark.filterwarnings("ignore:.*[Ww]orker.*:UserWarning"),
]
BIN = Path(sys.executable).parent


def _wait(predicate: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``dask scheduler`` + 2 ``dask worker`` processes (no nanny: the PID is the worker); always killed."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs: list[subprocess.Popen[bytes]] = []
    logs = [open(tmp_path / f"dask{i}.log", "wb") for i in range(3)]  # noqa: SIM115 - closed below
    try:
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=logs[0], stderr=subprocess.STDOUT,
        ))  # fmt: skip
        for i in (1, 2):
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--host", "127.0.0.1", "--name", f"w{i}", "--memory-limit", "2GB"],
                stdout=logs[i], stderr=subprocess.STDOUT, cwd=REPO_ROOT,
            ))  # fmt: skip
        from distributed import Client

        _wait(lambda: _port_open(port), 60, "the scheduler")
        client = Client(address, timeout=30, set_as_default=False)
        try:
            _wait(lambda: len(client.scheduler_info()["workers"]) == 2, 90, "two workers")
            yield {"address": address, "client": client, "workers": procs[1:]}
        finally:
            client.close()
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=30)
        for f in logs:
            f.close()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_worker_killed_mid_run_loses_and_duplicates_nothing(
    cluster: dict[str, Any],
    dayahead_inputs: dict[str, Path],
    dayahead_reference: Path,
    tmp_path: Path,
) -> None:
    series = ["zone_1", "zone_2", "zone_5", "zone_1", "zone_2", "zone_5"]
    feeders = [{"name": f"f{i + 1}", "series": s, "network": "case33bw"} for i, s in enumerate(series)]
    cfg = dayahead_cfg(dayahead_inputs, feeders=feeders)
    client = cluster["client"]
    out = tmp_path / "out"
    result: dict[str, Any] = {}
    job = threading.Thread(
        target=lambda: result.update(res=run_dayahead(cfg, out, dask_client=client)), daemon=True
    )
    job.start()

    def busy_worker() -> str | None:
        processing = client.processing()
        return next(
            (w for w, keys in processing.items() if any(str(k).startswith("feeder-") for k in keys)), None
        )

    _wait(lambda: busy_worker() is not None or not job.is_alive(), 240, "a worker running feeder tasks")
    victim = busy_worker()
    assert victim is not None, "the job finished before a worker could be killed"
    pid = client.run(os.getpid, workers=[victim])[victim]
    assert pid in {p.pid for p in cluster["workers"]}, "only kill a worker this test started"
    os.kill(pid, signal.SIGKILL)
    job.join(timeout=300)
    assert not job.is_alive(), "the job hung after losing a worker"

    res = result["res"]
    assert res.exit_code == ExitCode.OK, res.manifest.to_json()
    doc = check_dayahead_complete(out, {f["name"] for f in feeders})
    assert len(doc["feeders"]) == 6 and doc["dask"]["mode"] == "dask"
    workers = {rec["worker"] for rec in doc["feeders"].values()}
    assert len(workers) >= 1
    # f1 and f2 are the reference run's feeders: computed in process there, on the cluster here
    ref = pd.read_csv(dayahead_reference / DAYAHEAD_DAY / "schedules.csv")
    got = pd.read_csv(out / DAYAHEAD_DAY / "schedules.csv")
    pd.testing.assert_frame_equal(got[got["feeder"].isin(["f1", "f2"])].reset_index(drop=True), ref)
