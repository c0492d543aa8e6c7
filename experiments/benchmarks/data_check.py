"""Benchmark of the data layer's quality gates (not a test: run it by hand).

    .venv/bin/python experiments/benchmarks/data_check.py [--sizes 250 500 1000 2000] [--repeat 3]

1. GEFCom2012: read + check + clean all load (20 zones) and temperature (11 stations), hourly
   2004-01-01 .. 2008-06-30 -- target < 3 s on the 2-core development machine. The reference is a
   plain ``pandas.read_csv`` of the same files (no reshaping, no checks): the ratio says what the
   canonical form and the quality gates cost on top of parsing.
2. Scale: ``N`` synthetic 15-minute meter series x 1 year (35,040 steps, 20 % PV), check + clean,
   for N in --sizes: wall and CPU time and the peak memory allocated during check + clean
   (tracemalloc, which sees numpy's buffers), with per-series growth -- target: linear, < 4 GB.

Wall time on a shared machine is noisy; CPU time (process_time) is reported next to it.
Results are printed and written to ``experiments/benchmarks/out/data_check.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from gridai.data.gefcom import default_directory, read_gefcom_load, read_gefcom_temperature
from gridai.data.validation import check_load, check_weather, clean
from gridai.testing import synthetic_meter_data

OUT = Path(__file__).parent / "out" / "data_check.json"


def _timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "wall_min_s": min(walls)}


def gefcom_pipeline() -> dict[str, int]:
    load = read_gefcom_load()
    load_findings = check_load(load)
    clean(load, load_findings)
    weather = read_gefcom_temperature()
    weather_findings = check_weather(weather)
    clean(weather, weather_findings)
    return {"load_findings": len(load_findings), "weather_findings": len(weather_findings)}


def pandas_reference() -> None:
    d = default_directory()
    pd.read_csv(d / "Load_history.csv.gz", thousands=",")
    pd.read_csv(d / "Load_solution.csv.gz")
    pd.read_csv(d / "temperature_history.csv.gz")
    pd.read_csv(d / "temperature_solution.csv.gz")


def scale_point(n_series: int) -> dict[str, float]:
    meters = synthetic_meter_data(n_series, days=365, seed=n_series)
    gc.collect()
    tracemalloc.start()
    w0, c0 = time.perf_counter(), time.process_time()
    findings = check_load(meters)
    w1, c1 = time.perf_counter(), time.process_time()
    cleaned = clean(meters, findings)
    w2, c2 = time.perf_counter(), time.process_time()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    data_mb = meters["load"].nbytes / 2**20
    del cleaned, meters
    return {
        "series": n_series,
        "steps": 35040,
        "check_wall_s": w1 - w0,
        "check_cpu_s": c1 - c0,
        "clean_wall_s": w2 - w1,
        "clean_cpu_s": c2 - c1,
        "peak_mb": peak / 2**20,
        "data_mb": data_mb,
        "findings": len(findings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    gefcom_pipeline()  # warm-up: imports, file cache
    counts = gefcom_pipeline()
    ours = _timed(gefcom_pipeline, args.repeat)
    ref = _timed(pandas_reference, args.repeat)
    print(f"GEFCom2012, all load + temperature (median of {args.repeat}):")
    print(
        f"  read + check + clean : {ours['wall_s']:6.2f} s wall  {ours['cpu_s']:6.2f} s CPU   (target < 3 s)"
    )
    print(f"  pandas.read_csv only : {ref['wall_s']:6.2f} s wall  {ref['cpu_s']:6.2f} s CPU")
    print(f"  ratio (CPU)          : {ours['cpu_s'] / ref['cpu_s']:6.1f} x   findings: {counts}")

    print("\nSynthetic 15-min meters x 1 year (check + clean):")
    print(
        f"  {'series':>6} {'check s':>8} {'clean s':>8} {'CPU s':>7} {'peak MB':>8} {'data MB':>8} {'peak/series MB':>14}"
    )
    points = []
    for n in args.sizes:
        p = scale_point(n)
        points.append(p)
        cpu = p["check_cpu_s"] + p["clean_cpu_s"]
        print(
            f"  {n:>6} {p['check_wall_s']:8.2f} {p['clean_wall_s']:8.2f} {cpu:7.2f} {p['peak_mb']:8.0f} "
            f"{p['data_mb']:8.0f} {p['peak_mb'] / n:14.3f}"
        )
    if len(points) > 1:
        first, last = points[0], points[-1]
        k = last["series"] / first["series"]
        cpu_growth = (last["check_cpu_s"] + last["clean_cpu_s"]) / (
            first["check_cpu_s"] + first["clean_cpu_s"]
        )
        print(
            f"  x{k:g} series -> x{cpu_growth:.2f} CPU time, x{last['peak_mb'] / first['peak_mb']:.2f} peak memory"
        )

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "machine": {"platform": platform.platform(), "python": platform.python_version()},
                "gefcom": {"ours": ours, "pandas_read_csv": ref, "findings": counts},
                "scale": points,
            },
            indent=2,
        )
    )
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
