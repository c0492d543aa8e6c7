"""Time-series AC power flow (gridai.grid.timeseries_pf) vs a loop of pandapower ``runpp``.

Per network, the same day of ``--intervals`` quarter-hours (every load on its own noisy daily
profile, every sgen on a noisy solar profile; seed 0) is solved

* ``timeseries`` - :class:`~gridai.grid.timeseries_pf.TimeseriesPowerFlow`: one pandapower call
  to build the model (``prepare``) plus one vectorised solve of all intervals (``solve``);
* ``loop``       - set ``net.load`` / ``net.sgen`` and call ``pandapower.runpp(net)`` per interval,
  with pandapower's default options (numba JIT compiled before timing);
* ``loop_warm``  - the same with ``init="results"``: each interval starts from the previous one's
  solution, the fastest plain ``runpp`` loop found (pandapower's own time-series practice).

Each timing is the best of ``--repeat`` runs (the machine may be shared). Accuracy is checked
against ``loop`` (pandapower stays the reference): max |dV| [pu] over all buses and intervals,
max relative difference of the total losses, max difference of line / trafo loading [%-points].
Ratios are the loop's time over ``timeseries`` prepare + solve. The prepare step is one pandapower
call on a fresh network, about two warm-started ``runpp`` calls, so against ``loop_warm`` the ratio
at 96 intervals cannot pass ~96 / 2 whatever the solve costs; it grows with the intervals solved
per call (``--cases 3``: 3 x 96).

Usage::

    python experiments/benchmarks/powerflow.py                         # 4 networks x 96 intervals
    python experiments/benchmarks/powerflow.py --cases 1 3             # and 3 cases x 96 in one call
    python experiments/benchmarks/powerflow.py --networks case33bw --repeat 1
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SIMBENCH_JSON = ROOT / "tests" / "fixtures" / "grids" / "simbench_1-MV-rural--0-sw.json"
RESULTS = Path(__file__).with_name("powerflow_results.json")


def networks() -> dict[str, Callable[[], Any]]:
    from gridai.grid.topology import load_network

    return {
        "case33bw": lambda: load_network("case33bw"),
        "cigre_mv": lambda: load_network("cigre_mv"),  # create_cigre_network_mv(with_der="pv_wind")
        "mv_oberrhein": lambda: load_network("mv_oberrhein"),
        "simbench_1-MV-rural--0-sw": lambda: load_network(SIMBENCH_JSON),  # SimBench 1.6.3, stored as JSON
    }


def profiles(net: Any, shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Load p, q [MW, Mvar] ``shape + (n_load,)`` and sgen p [MW] ``shape + (n_sgen,)`` of one day."""
    rng = np.random.default_rng(seed)
    t = np.arange(shape[-1]) / shape[-1] * 24.0  # hour of day
    daily = 0.6 + 0.25 * np.sin((t - 9.0) / 24.0 * 2 * np.pi) + 0.2 * np.exp(-((t - 19.0) ** 2) / 4.0)
    solar = np.clip(np.sin((t - 6.0) / 12.0 * np.pi), 0.0, None)
    p0 = (net.load["p_mw"] * net.load["scaling"]).to_numpy(float)
    q0 = (net.load["q_mvar"] * net.load["scaling"]).to_numpy(float)
    g0 = (net.sgen["p_mw"] * net.sgen["scaling"]).to_numpy(float)
    lf = daily[:, None] * rng.uniform(0.7, 1.3, size=shape + (len(p0),))
    gf = solar[:, None] * rng.uniform(0.5, 1.0, size=shape + (len(g0),))
    return p0 * lf, q0 * lf, g0 * gf


def run_loop(
    net: Any, lp: np.ndarray, lq: np.ndarray, gp: np.ndarray, **options: Any
) -> dict[str, np.ndarray]:
    """``pandapower.runpp`` per interval (flattened); voltages, loadings and losses of each."""
    import pandapower as pp

    net.load["scaling"], net.sgen["scaling"] = 1.0, 1.0
    k = int(np.prod(lp.shape[:-1]))
    lp, lq, gp = lp.reshape(k, -1), lq.reshape(k, -1), gp.reshape(k, -1)
    out: dict[str, list[np.ndarray]] = {"vm": [], "line": [], "trafo": [], "losses": []}
    for i in range(k):
        net.load["p_mw"], net.load["q_mvar"] = lp[i], lq[i]
        net.sgen["p_mw"] = gp[i]
        pp.runpp(net, **options)
        out["vm"].append(net.res_bus["vm_pu"].to_numpy())
        out["line"].append(net.res_line["loading_percent"].to_numpy())
        out["trafo"].append(net.res_trafo["loading_percent"].to_numpy())
        out["losses"].append(np.array(net.res_line["pl_mw"].sum() + net.res_trafo["pl_mw"].sum()))
    return {key: np.stack(v) for key, v in out.items()}


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), value


def bench(name: str, make: Callable[[], Any], shape: tuple[int, ...], repeat: int) -> dict[str, Any]:
    import pandapower as pp

    from gridai.grid.timeseries_pf import TimeseriesPowerFlow

    base = make()
    lp, lq, gp = profiles(base, shape)
    pp.runpp(copy.deepcopy(base))  # numba JIT (pandapower's default) compiled outside the timings

    def prepare() -> TimeseriesPowerFlow:
        return TimeseriesPowerFlow.from_net(copy.deepcopy(base))

    # deepcopy is not part of either method: time it and take it off
    t_copy, _ = best_of(repeat, lambda: copy.deepcopy(base))
    t_prep, model = best_of(repeat, prepare)
    t_prep = max(t_prep - t_copy, 0.0)
    t_solve, res = best_of(repeat, lambda: model.solve(load_p_mw=lp, load_q_mvar=lq, sgen_p_mw=gp))
    t_loop, ref = best_of(repeat, lambda: run_loop(copy.deepcopy(base), lp, lq, gp))
    t_warm, warm = best_of(repeat, lambda: run_loop(copy.deepcopy(base), lp, lq, gp, init="results"))
    t_loop, t_warm = t_loop - t_copy, t_warm - t_copy
    k = int(np.prod(shape))
    flat = {
        "vm": res.vm_pu.reshape(k, -1),
        "line": res.line_loading_percent.reshape(k, -1),
        "trafo": res.trafo_loading_percent.reshape(k, -1),
        "losses": res.losses_mw.reshape(k),
    }

    def dmax(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.nanmax(np.abs(a - b))) if a.size else 0.0

    total = t_prep + t_solve
    return {
        "network": name,
        "n_bus": len(base.bus),
        "n_line": len(base.line),
        "n_load": len(base.load),
        "n_sgen": len(base.sgen),
        "cases": shape[0] if len(shape) > 1 else 1,
        "intervals": k,
        "timeseries_prepare_s": t_prep,
        "timeseries_solve_s": t_solve,
        "timeseries_s": total,
        "loop_runpp_s": t_loop,
        "loop_runpp_warm_s": t_warm,
        "speedup_vs_loop": t_loop / total,
        "speedup_vs_loop_warm": t_warm / total,
        "solve_only_speedup_vs_loop": t_loop / t_solve,
        "max_abs_dv_pu": dmax(flat["vm"], ref["vm"]),
        "max_rel_loss_diff": float(np.max(np.abs(flat["losses"] - ref["losses"]) / np.abs(ref["losses"]))),
        "max_line_loading_diff_pct": dmax(flat["line"], ref["line"]),
        "max_trafo_loading_diff_pct": dmax(flat["trafo"], ref["trafo"]),
        "warm_loop_max_abs_dv_pu": dmax(warm["vm"], ref["vm"]),
        "all_converged": bool(res.converged.all()),
        "iterations_mean": float(res.iterations.mean()),
        "iterations_max": int(res.iterations.max()),
    }


def main(argv: list[str] | None = None) -> int:
    nets = networks()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", nargs="+", default=list(nets), choices=list(nets))
    ap.add_argument("--intervals", type=int, default=96)
    ap.add_argument(
        "--cases",
        type=int,
        nargs="+",
        default=[1],
        help="forecast cases solved in the same call (one row each)",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")  # pandapower's deprecation chatter
    shapes = [(args.intervals,) if c == 1 else (c, args.intervals) for c in args.cases]
    rows = [bench(name, nets[name], shape, args.repeat) for shape in shapes for name in args.networks]
    head = f"{'network':28} {'bus':>4} {'K':>4} {'prep ms':>8} {'solve ms':>8} {'loop s':>7} {'warm s':>7}"
    head += f" {'x loop':>7} {'x warm':>7} {'max|dV| pu':>10} {'loss rel':>9} {'iters':>5}"
    print(head)
    for r in rows:
        print(
            f"{r['network']:28} {r['n_bus']:4d} {r['intervals']:4d} {r['timeseries_prepare_s'] * 1e3:8.1f}"
            f" {r['timeseries_solve_s'] * 1e3:8.1f} {r['loop_runpp_s']:7.2f} {r['loop_runpp_warm_s']:7.2f}"
            f" {r['speedup_vs_loop']:7.1f} {r['speedup_vs_loop_warm']:7.1f} {r['max_abs_dv_pu']:10.1e}"
            f" {r['max_rel_loss_diff']:9.1e} {r['iterations_mean']:5.1f}"
        )
    import pandapower

    meta = {
        "command": "python experiments/benchmarks/powerflow.py "
        + f"--intervals {args.intervals} --cases {' '.join(map(str, args.cases))} --repeat {args.repeat}",
        "networks": args.networks,
        "timing": f"best of {args.repeat}; deepcopy of the network subtracted",
        "pandapower": pandapower.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
