"""A Dask scheduler lost mid-run loses nothing: finished results are kept, the rest run in-process, flagged."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gridai.exceptions import ExitCode
from gridai.pipelines.distributed import ClusterLostError, map_keyed

from support import DAYAHEAD_DAY, dayahead_cfg, run_dayahead


def _slow(item: float) -> float:
    time.sleep(item)
    return item


@pytest.mark.slow
def test_map_keyed_deadline_keeps_the_results_that_arrived() -> None:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None)
    with cluster, Client(cluster, set_as_default=False) as client, pytest.raises(ClusterLostError) as err:
        map_keyed(client, _slow, {"fast": 0.0, "slow": 5.0}, prefix="t", run_token="r", deadline_s=2.0)
    assert err.value.results == {"fast": 0.0}
    assert "timed out" in err.value.reason and "1 of 2" in err.value.reason


def test_job_runs_unfinished_feeders_in_process_when_the_cluster_is_lost(
    dayahead_inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gridai.pipelines.dayahead.job as job

    def lost(*args: object, **kw: object) -> None:
        raise ClusterLostError("Dask scheduler was lost (CommClosedError) after 0 of 2 feeder tasks", {})

    monkeypatch.setattr(job, "map_keyed", lost)
    res = run_dayahead(dayahead_cfg(dayahead_inputs), tmp_path / "out", dask_client=object())
    assert res.exit_code == ExitCode.FALLBACK
    doc = json.loads((tmp_path / "out" / DAYAHEAD_DAY / "run.json").read_text())
    assert [f["kind"] for f in doc["fallbacks"]] == ["dask_local"]
    assert set(doc["feeders"]) == {"f1", "f2"}
