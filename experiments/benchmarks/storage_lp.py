"""Storage LP benchmark: N feeders x 96 quarter-hours, one battery per feeder, four ways.

The same LP (time-of-use price, daily peak charge, cyclic battery with charge/discharge
efficiency and a throughput cost, import only) is built and solved by

* ``gridai``  - forecast dataset -> ``prepare_inputs`` -> ``build_model`` -> ``solve_model`` (fast path)
  -> schedule arrays (end to end, solution also loaded onto the Pyomo variables);
* ``raw``     - numpy/scipy arrays straight into ``highspy.Highs.passModel``;
* ``linopy``  - linopy model, HiGHS through its direct highspy interface;
* ``pyomo``   - naive Pyomo: indexed Vars and rule-based Constraints, ``appsi_highs``.

Every (method, N) runs once, in a fresh subprocess, so peak memory (``ru_maxrss``) is per method.
gridai hands HiGHS the bit-identical LP (``identical_lp_n50`` in the output), so on a shared,
noisy machine ``*_vs_raw_same_solver_time`` (raw's ``Highs.run`` time plus the method's own
modelling overhead, over raw's total) is the stable comparison; ``*_vs_raw`` is the measured one.
Objectives must agree to 1e-6 relative. Also compares many independent feeders solved as
separate problems (sequentially and on 2 processes) against one joint problem.

Usage::

    python experiments/benchmarks/storage_lp.py                  # scaling table N = 10..2000
    python experiments/benchmarks/storage_lp.py --sizes 10 200   # subset
    python experiments/benchmarks/storage_lp.py --one gridai 200 # one run, JSON line
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

T = 96
DT_H = 0.25
ETA = 0.92
DEG_PER_KWH = 0.001
PEAK_PER_KW = 0.5
BASE, PEAK, PEAK_START, PEAK_END = 0.08, 0.20, 13.0, 20.0


def make_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load (N, T) [kW], price (T,) [$/kWh], battery power (N,) [kW] and energy (N,) [kWh]."""
    rng = np.random.default_rng(seed)
    h = np.arange(T) * DT_H
    shape = 1 + 0.4 * np.sin((h - 11.0) / 24.0 * 2 * np.pi)
    load = 500.0 * shape[None, :] * (0.5 + rng.random((n, 1))) * (1 + 0.1 * rng.random((n, T)))
    price = np.where((h >= PEAK_START) & (h < PEAK_END), PEAK, BASE)
    p = 0.2 * load.mean(axis=1)
    return load, price, p, 4.0 * p


def run_raw(n: int) -> dict[str, Any]:
    import highspy
    import scipy.sparse as sp

    t0 = time.perf_counter()
    load, price, p, e = make_data(n)
    nv = n * T
    ich = np.arange(nv).reshape(n, T)
    idis, isoc, iimp = ich + nv, ich + 2 * nv, ich + 3 * nv
    ipk = 4 * nv + np.arange(n)
    ncol = 4 * nv + n
    lb, ub = np.zeros(ncol), np.full(ncol, np.inf)
    ub[ich], ub[idis] = p[:, None], p[:, None]
    ub[isoc] = e[:, None]
    c = np.zeros(ncol)
    c[iimp] = price[None, :] * DT_H
    c[ich] = c[idis] = DEG_PER_KWH * DT_H
    c[ipk] = PEAK_PER_KW
    r = np.arange(nv).reshape(n, T)
    rows = [r, r, r, r[:, 1:]]
    cols = [isoc, ich, idis, isoc[:, :-1]]
    vals = [np.ones(nv), np.full(nv, -ETA * DT_H), np.full(nv, DT_H / ETA), -np.ones(n * (T - 1))]
    rhs = np.zeros((n, T))
    rhs[:, 0] = 0.5 * e
    rc = nv + np.arange(n)  # cyclic: soc[T-1] = soc0
    rows.append(rc)
    cols.append(isoc[:, -1])
    vals.append(np.ones(n))
    r2 = r + nv + n  # balance: imp - ch + dis = load
    rows += [r2, r2, r2]
    cols += [iimp, ich, idis]
    vals += [np.ones(nv), -np.ones(nv), np.ones(nv)]
    r3 = r + 2 * nv + n  # peak: imp - pk <= 0
    rows += [r3, r3]
    cols += [iimp, np.repeat(ipk, T).reshape(n, T)]
    vals += [np.ones(nv), -np.ones(nv)]
    A = sp.csc_matrix(
        (
            np.concatenate([v.ravel() for v in vals]),
            (np.concatenate([x.ravel() for x in rows]), np.concatenate([x.ravel() for x in cols])),
        ),
        shape=(3 * nv + n, ncol),
    )
    lo = np.concatenate([rhs.ravel(), 0.5 * e, load.ravel(), np.full(nv, -np.inf)])
    hi = np.concatenate([rhs.ravel(), 0.5 * e, load.ravel(), np.zeros(nv)])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = ncol, A.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c, lb, ub
    lp.row_lower_, lp.row_upper_ = lo, hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    h.passModel(lp)
    t1 = time.perf_counter()
    h.run()
    run_s = time.perf_counter() - t1
    x = np.asarray(h.getSolution().col_value)
    soc = x[isoc]
    t2 = time.perf_counter()
    assert soc.shape == (n, T)
    return {
        "build_s": t1 - t0,
        "solve_s": t2 - t1,
        "run_s": run_s,
        "objective": h.getInfo().objective_function_value,
    }


def _gridai_problem(load: np.ndarray, p: np.ndarray, e: np.ndarray) -> tuple[Any, Any]:
    from gridai.dispatch.testing import config, make_forecast

    n = load.shape[0]
    names = [f"f{i}" for i in range(n)]
    fc = make_forecast({nm: load[i] for i, nm in enumerate(names)})
    feeders = [
        dict(name=nm, batteries=[dict(name=f"B{i}", power_kw=float(p[i]), energy_kwh=float(e[i]), eta_charge=ETA,
             eta_discharge=ETA, soc_initial_frac=0.5, cyclic=True, degradation_cost_per_kwh=DEG_PER_KWH)])
        for i, nm in enumerate(names)
    ]  # fmt: skip
    tariff = dict(base_price_per_kwh=BASE, peak_price_per_kwh=PEAK, peak_start_h=PEAK_START, peak_end_h=PEAK_END,
                  demand_charge_per_kw=PEAK_PER_KW, carbon_price_per_kg=0.0)  # fmt: skip
    return config(feeders, tariff=tariff), fc


def run_gridai(n: int, fast: bool = True) -> dict[str, Any]:
    from gridai.dispatch.inputs import prepare_inputs
    from gridai.dispatch.model import build_model
    from gridai.optim.solve import solve_model

    t0 = time.perf_counter()
    load, _, p, e = make_data(n)
    cfg, fc = _gridai_problem(load, p, e)
    cfg.solve.fast = fast
    data = prepare_inputs(cfg, fc)
    dm = build_model(cfg, data)
    t1 = time.perf_counter()
    res = solve_model(dm.lm, cfg.solve, build_s=dm.build_s)
    soc = dm.lm.value(dm.battery.soc)
    t2 = time.perf_counter()
    assert soc.shape == (n, T) and res.ok
    return {
        "build_s": t1 - t0,
        "solve_s": t2 - t1,
        "objective": res.objective,
        "translate_s": res.translate_s,
        "run_s": res.solver_s,
    }


def run_linopy(n: int) -> dict[str, Any]:
    import linopy
    import pandas as pd
    import xarray as xr

    t0 = time.perf_counter()
    load, price, p, e = make_data(n)
    b, t = pd.RangeIndex(n, name="b"), pd.RangeIndex(T, name="t")
    m = linopy.Model()
    pa = xr.DataArray(p, coords=[b])
    ea = xr.DataArray(e, coords=[b])
    ch = m.add_variables(lower=0, upper=pa.expand_dims(t=t), name="ch")
    dis = m.add_variables(lower=0, upper=pa.expand_dims(t=t), name="dis")
    soc = m.add_variables(lower=0, upper=ea.expand_dims(t=t), name="soc")
    imp = m.add_variables(lower=0, coords=[b, t], name="imp")
    pk = m.add_variables(lower=0, coords=[b], name="pk")
    prev = soc.shift(t=1)
    m.add_constraints(
        soc.isel(t=0) - ETA * DT_H * ch.isel(t=0) + DT_H / ETA * dis.isel(t=0) == 0.5 * ea, name="soc0"
    )
    m.add_constraints(
        (soc - prev - ETA * DT_H * ch + DT_H / ETA * dis).isel(t=slice(1, None)) == 0, name="soc"
    )
    m.add_constraints(soc.isel(t=T - 1) == 0.5 * ea, name="cyclic")
    m.add_constraints(imp - ch + dis == xr.DataArray(load, coords=[b, t]), name="balance")
    m.add_constraints(imp - pk <= 0, name="peak")
    pr = xr.DataArray(price * DT_H, coords=[t])
    m.add_objective((pr * imp).sum() + (DEG_PER_KWH * DT_H * (ch + dis)).sum() + (PEAK_PER_KW * pk).sum())
    t1 = time.perf_counter()
    m.solve(solver_name="highs", io_api="direct", output_flag=False)
    s = m.solution["soc"].transpose("b", "t").values
    t2 = time.perf_counter()
    assert s.shape == (n, T)
    return {"build_s": t1 - t0, "solve_s": t2 - t1, "objective": float(m.objective.value)}


def run_pyomo(n: int) -> dict[str, Any]:
    import pyomo.environ as pyo
    from pyomo.contrib.appsi.solvers import Highs

    t0 = time.perf_counter()
    load, price, p, e = make_data(n)
    m = pyo.ConcreteModel()
    m.B, m.T = pyo.RangeSet(0, n - 1), pyo.RangeSet(0, T - 1)
    m.ch = pyo.Var(m.B, m.T, bounds=lambda _, b, t: (0, p[b]))
    m.dis = pyo.Var(m.B, m.T, bounds=lambda _, b, t: (0, p[b]))
    m.soc = pyo.Var(m.B, m.T, bounds=lambda _, b, t: (0, e[b]))
    m.imp = pyo.Var(m.B, m.T, bounds=(0, None))
    m.pk = pyo.Var(m.B, bounds=(0, None))

    def soc_rule(m: Any, b: int, t: int) -> Any:
        prev = m.soc[b, t - 1] if t > 0 else 0.5 * e[b]
        return m.soc[b, t] == prev + ETA * DT_H * m.ch[b, t] - DT_H / ETA * m.dis[b, t]

    m.c_soc = pyo.Constraint(m.B, m.T, rule=soc_rule)
    m.c_cyc = pyo.Constraint(m.B, rule=lambda m, b: m.soc[b, T - 1] == 0.5 * e[b])
    m.c_bal = pyo.Constraint(
        m.B, m.T, rule=lambda m, b, t: m.imp[b, t] - m.ch[b, t] + m.dis[b, t] == load[b, t]
    )
    m.c_pk = pyo.Constraint(m.B, m.T, rule=lambda m, b, t: m.imp[b, t] <= m.pk[b])
    m.obj = pyo.Objective(
        expr=sum(
            price[t] * DT_H * m.imp[b, t] + DEG_PER_KWH * DT_H * (m.ch[b, t] + m.dis[b, t])
            for b in m.B
            for t in m.T
        )
        + sum(PEAK_PER_KW * m.pk[b] for b in m.B)
    )
    t1 = time.perf_counter()
    opt = Highs()
    res = opt.solve(m)
    s = np.array([[m.soc[b, t].value for t in range(T)] for b in range(n)])
    t2 = time.perf_counter()
    assert s.shape == (n, T)
    return {"build_s": t1 - t0, "solve_s": t2 - t1, "objective": float(res.best_feasible_objective)}


def check_identical(n: int) -> bool:
    """gridai's arrays equal the raw highspy arrays (matrix, costs, bounds) for the same data."""
    import highspy
    import scipy.sparse as sp

    from gridai.dispatch.inputs import prepare_inputs
    from gridai.dispatch.model import build_model

    load, _, p, e = make_data(n)
    cfg, fc = _gridai_problem(load, p, e)
    g = build_model(cfg, prepare_inputs(cfg, fc)).lm.arrays()
    captured: dict[str, Any] = {}
    orig = highspy.Highs.passModel

    def capture(self: Any, lp: Any) -> Any:
        captured["lp"] = lp
        return orig(self, lp)

    highspy.Highs.passModel = capture  # type: ignore[method-assign]
    try:
        run_raw(n)
    finally:
        highspy.Highs.passModel = orig  # type: ignore[method-assign]
    r = captured["lp"]
    a = sp.csc_matrix(
        (np.asarray(r.a_matrix_.value_), np.asarray(r.a_matrix_.index_), np.asarray(r.a_matrix_.start_)),
        shape=(r.num_row_, r.num_col_),
    )
    return bool(
        g.A.shape == a.shape
        and np.array_equal(g.A.indptr, a.indptr)
        and np.array_equal(g.A.indices, a.indices)
        and np.array_equal(g.A.data, a.data)
        and np.array_equal(g.c, np.asarray(r.col_cost_))
        and np.array_equal(g.col_lo, np.asarray(r.col_lower_))
        and np.array_equal(g.col_hi, np.asarray(r.col_upper_))
        and np.array_equal(g.row_lo, np.asarray(r.row_lower_))
        and np.array_equal(g.row_hi, np.asarray(r.row_upper_))
    )


METHODS = {"gridai": run_gridai, "raw": run_raw, "linopy": run_linopy, "pyomo": run_pyomo}


def _one_feeder(args: tuple[np.ndarray, float, float]) -> float:
    from gridai.dispatch.inputs import prepare_inputs
    from gridai.dispatch.model import build_model
    from gridai.optim.solve import solve_model

    load, p, e = args
    cfg, fc = _gridai_problem(load[None, :], np.array([p]), np.array([e]))
    dm = build_model(cfg, prepare_inputs(cfg, fc))
    return solve_model(dm.lm, cfg.solve).objective


def run_separate(n: int, workers: int) -> dict[str, Any]:
    """n independent single-feeder problems (gridai), sequentially or on ``workers`` processes."""
    load, _, p, e = make_data(n)
    jobs = [(load[i], float(p[i]), float(e[i])) for i in range(n)]
    t0 = time.perf_counter()
    if workers <= 1:
        objs = [_one_feeder(j) for j in jobs]
    else:
        with ProcessPoolExecutor(workers) as ex:
            objs = list(ex.map(_one_feeder, jobs, chunksize=max(1, n // (4 * workers))))
    return {"build_s": 0.0, "solve_s": time.perf_counter() - t0, "objective": float(sum(objs))}


def one(method: str, n: int) -> dict[str, Any]:
    """Time one method at size n, after an untimed N=2 warm-up in the same process.

    The warm-up pays one-off costs every method has in a fresh interpreter (lazy imports: xarray
    imports dask on its first selection, Pyomo loads its plugins on the first model, linopy its
    solver interfaces); ``cold_warmup_s`` reports them.
    """
    fn = METHODS.get(method, METHODS["gridai"])
    t0 = time.perf_counter()
    fn(2)
    cold = time.perf_counter() - t0
    out = run_separate(n, int(method.split("-")[1])) if method.startswith("separate") else METHODS[method](n)
    out["cold_warmup_s"] = cold
    out["total_s"] = out["build_s"] + out["solve_s"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out.update(method=method, n=n)
    return out


def _spawn(method: str, n: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", method, str(n)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return {"method": method, "n": n, "skipped": f"over {timeout:.0f} s"}
    except subprocess.CalledProcessError as err:
        return {"method": method, "n": n, "error": err.stderr[-500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", nargs=2, metavar=("METHOD", "N"))
    ap.add_argument("--sizes", nargs="*", type=int, default=[10, 100, 200, 1000, 2000])
    ap.add_argument("--pyomo-max-n", type=int, default=200, help="naive Pyomo is skipped above this N")
    ap.add_argument("--separate-n", nargs="*", type=int, default=[200, 1000], help="N for separate-vs-joint")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return
    rows = []
    for n in args.sizes:
        runs = {}
        for method in ("raw", "gridai", "linopy", "pyomo"):
            if method == "pyomo" and n > args.pyomo_max_n:
                runs[method] = {
                    "method": method,
                    "n": n,
                    "skipped": f"naive Pyomo skipped above N={args.pyomo_max_n}",
                }
                continue
            runs[method] = _spawn(method, n, args.timeout)
            print(json.dumps(runs[method]), file=sys.stderr, flush=True)
        ref = runs["raw"]
        row: dict[str, Any] = {"n": n, "runs": runs}
        for method, r in runs.items():
            if "total_s" in r and "total_s" in ref:
                row[f"{method}_vs_raw"] = r["total_s"] / ref["total_s"]
                if "run_s" in r and "run_s" in ref:
                    # gridai hands HiGHS the bit-identical LP (checked by --check-identical), so any
                    # difference in Highs.run time is machine noise: compare modelling overheads
                    overhead = r["total_s"] - r["run_s"]
                    row[f"{method}_overhead_s"] = overhead
                    row[f"{method}_vs_raw_same_solver_time"] = (ref["run_s"] + overhead) / ref["total_s"]
                row[f"{method}_obj_rel_diff"] = abs(r["objective"] - ref["objective"]) / abs(ref["objective"])
        rows.append(row)
    separate = []
    for n in args.separate_n:
        res = {m: _spawn(m, n, args.timeout) for m in ("gridai", "separate-1", "separate-2")}
        print(json.dumps(res), file=sys.stderr, flush=True)
        fastest = min((r["total_s"], m) for m, r in res.items() if "total_s" in r)[1]
        separate.append({"n": n, "runs": res, "fastest": fastest})
    # last: loading gridai here would raise the RSS high-water mark every later child inherits
    identical = check_identical(50)
    table = [
        {
            "N": r["n"],
            **{f"{m}_s": round(v["total_s"], 3) for m, v in r["runs"].items() if "total_s" in v},
            **{f"{m}_mb": round(v["peak_rss_mb"]) for m, v in r["runs"].items() if "peak_rss_mb" in v},
            **{
                k: round(v, 3)
                for k, v in r.items()
                if k.endswith(("_vs_raw", "_same_solver_time", "_overhead_s"))
            },
            "max_obj_rel_diff": max((v for k, v in r.items() if k.endswith("_obj_rel_diff")), default=None),
        }
        for r in rows
    ]
    print(
        json.dumps(
            {"identical_lp_n50": identical, "scaling": table, "separate_vs_joint": separate, "details": rows}
        )
    )


if __name__ == "__main__":
    main()
