"""Scale benchmark of the day-ahead job: 10, 100, 1,000 synthetic feeders on 1 and 2 Dask workers.

Synthetic feeders are built from the 20 GEFCom2012 zones (each feeder follows one zone, its
profile scaled to 40-90 % of the case33bw nominal load with 3 % multiplicative noise, and one
generated battery of 10-30 % of its peak power and 2-4 h of energy). The forecast is the cheap
seasonal-naive baseline (``model.uri: baseline:seasonal_naive``), so the time measured is the
job's own: data, forecast, per-feeder dispatch (Pyomo/HiGHS, LinDistFlow) + AC checks +
health power flows on Dask, and writing/publishing the outputs.

For each worker count a ``LocalCluster`` is started and warmed up (imports and the network
built once per worker) before any timing; then each size runs the full job into a temporary
output root. Peak memory is the highest sum of the RSS of this process and its workers, sampled
every 0.2 s.

    .venv/bin/python experiments/benchmarks/dayahead_scale.py --sizes 10 100 1000 --workers 1 2
    .venv/bin/python experiments/benchmarks/dayahead_scale.py --sizes 100 --workers 2 --readiness-faults 0 8

``--readiness-faults`` adds the N-1 restoration readiness (K plans per feeder at the forecast
peak) and reports each run's wall time over the run without it (``readiness_time_ratio``).
Measured 2026-12-01, 100 feeders on 2 workers: 28.5 s without, 101.6 s with 8 plans per feeder
(ratio 3.57).

The last line printed is JSON: ``{"runs": [...], "speedup": {"<n>": t1/t2}, "scaling": {...}}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from gridai.config import parse_config
from gridai.pipelines.dayahead.config import DayAheadConfig
from gridai.pipelines.dayahead.job import run_day_ahead
from gridai.pipelines.distributed import DaskConfig, dask_client

ROOT = Path(__file__).resolve().parents[2]


class PeakRSS:
    """Peak of the summed RSS of this process and its children, sampled in a thread."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            time.sleep(self.interval_s)

    def __enter__(self) -> PeakRSS:
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def config(n: int, health_intervals: int, readiness_faults: int = 0) -> DayAheadConfig:
    return parse_config(
        DayAheadConfig,
        {
            "data": {
                "kind": "gefcom2012",
                "load_path": str(ROOT / "data" / "gefcom2012"),
                "history_days": 35,
            },
            "model": {"uri": "baseline:seasonal_naive"},
            "synthetic_feeders": {"count": n, "networks": ["case33bw"], "seed": 0},
            "dispatch": {"time_limit_s": 30, "ac_check_intervals": 1},
            "health": {"peak_intervals": health_intervals},
            "readiness": {"enabled": readiness_faults > 0, "max_faults": max(readiness_faults, 1)},
            "track_runs": False,
            "report": {"max_feeder_charts": 6},
        },
        source="dayahead_scale",
    )


def warm_up(client: Any) -> None:
    """Import the per-feeder code and build the network once on every worker."""

    def _warm() -> bool:
        from gridai.pipelines.dayahead.feeder_task import network_copy

        network_copy("case33bw")
        import gridai.dispatch.api  # noqa: F401

        return True

    client.run(_warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument(
        "--health-intervals", type=int, default=3, help="Peak intervals of the health power flows."
    )
    ap.add_argument(
        "--readiness-faults",
        type=int,
        nargs="+",
        default=[0],
        help="N-1 restoration plans per feeder (0: readiness off); several values run side by side.",
    )
    ap.add_argument("--date", default="2008-06-30")
    ap.add_argument("--out", type=Path, default=None, help="Write the JSON result here too.")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    runs: list[dict[str, Any]] = []
    for workers in args.workers:
        with dask_client(DaskConfig(n_workers=workers, threads_per_worker=1)) as client:
            warm_up(client)
            for n, k in [(n, k) for n in args.sizes for k in args.readiness_faults]:
                cfg = config(n, args.health_intervals, k)
                with tempfile.TemporaryDirectory(prefix="gridai-scale-") as tmp, PeakRSS() as mem:
                    t0 = time.perf_counter()
                    res = run_day_ahead(cfg, args.date, tmp, dask_client=client)
                    wall = time.perf_counter() - t0
                steps = {k: v.get("seconds") for k, v in res.manifest.steps.items() if isinstance(v, dict)}
                fallbacks = len(res.manifest.fallbacks)
                rec = {
                    "feeders": n,
                    "workers": workers,
                    "readiness_faults": k,
                    "wall_s": round(wall, 2),
                    "s_per_feeder": round(wall / n, 4),
                    "peak_rss_mb": round(mem.peak / 2**20, 1),
                    "exit_code": int(res.exit_code),
                    "fallbacks": fallbacks,
                    "steps_s": steps,
                }
                runs.append(rec)
                print(json.dumps(rec), flush=True)
    speedup = {}
    for n in args.sizes:
        t = {r["workers"]: r["wall_s"] for r in runs if r["feeders"] == n and r["readiness_faults"] == 0}
        if 1 in t and 2 in t:
            speedup[str(n)] = round(t[1] / t[2], 2)
    scaling = {}
    for w in args.workers:
        pts = sorted(
            (r["feeders"], r["wall_s"]) for r in runs if r["workers"] == w and r["readiness_faults"] == 0
        )
        if len(pts) >= 2:
            (n0, t0_), (n1, t1_) = pts[0], pts[-1]
            scaling[str(w)] = {"marginal_s_per_feeder": round((t1_ - t0_) / (n1 - n0), 4),
                               "time_ratio": round(t1_ / t0_, 2), "size_ratio": n1 / n0}  # fmt: skip
    readiness = {}
    for w, n in {(r["workers"], r["feeders"]) for r in runs}:
        t = {r["readiness_faults"]: r["wall_s"] for r in runs if r["workers"] == w and r["feeders"] == n}
        if 0 in t:
            readiness[f"{n}x{w}"] = {str(k): round(v / t[0], 3) for k, v in sorted(t.items()) if k}
    result = {"runs": runs, "speedup_1_to_2_workers": speedup, "scaling": scaling,
              "readiness_time_ratio": readiness, "cpus": psutil.cpu_count()}  # fmt: skip
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
