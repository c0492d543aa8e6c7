"""Time-series AC power flow (gridai.grid.timeseries_pf) against a loop of pandapower's runpp.

pandapower's Newton-Raphson is the reference: per network, 24 intervals with every load and sgen
varied on its own must agree to max |dV| <= 1e-6 pu and total losses within 1e-6 relative.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from gridai.exceptions import GridAIDataError
from gridai.grid.netjson import read_network_json
from gridai.grid.timeseries_pf import TimeseriesPowerFlow, solve_timeseries
from gridai.grid.topology import load_network

from support import FIXTURES

SIMBENCH_JSON = FIXTURES / "grids" / "simbench_1-MV-rural--0-sw.json"
T = 24


def mv_oberrhein() -> Any:
    """``pandapower.networks.mv_oberrhein()`` ("load" scenario) without its closing ``runpp``, whose
    numba compilation alone costs ~10 s."""
    from pandapower import pp_dir

    net = read_network_json(Path(pp_dir) / "networks" / "mv_oberrhein.json")
    net.load["q_mvar"] = np.tan(np.arccos(0.98)) * net.load["p_mw"]
    net.sgen["q_mvar"] = 0.0
    net.trafo["tap_pos"] = net.trafo["tap_pos"].astype("float64")
    net.load["scaling"], net.sgen["scaling"] = 0.6, 0.0
    net.trafo.loc[net.trafo.index[net.trafo["sn_mva"] > 1], "tap_pos"] = [-2, -3]
    return net


NETWORKS = [
    pytest.param(pn.case33bw, id="case33bw"),
    pytest.param(lambda: pn.create_cigre_network_mv(with_der="pv_wind"), id="cigre_mv"),
    pytest.param(mv_oberrhein, id="mv_oberrhein"),
    pytest.param(lambda: load_network(SIMBENCH_JSON), id="simbench_1-MV-rural--0-sw"),
]


def injections(net: Any, shape: tuple[int, ...], seed: int = 0) -> dict[str, np.ndarray]:
    """Every load at 0.3-1.3 and every sgen at 0-1.2 of its base value, independently [MW, Mvar]."""
    rng = np.random.default_rng(seed)
    p0 = (net.load["p_mw"] * net.load["scaling"]).to_numpy(float)
    q0 = (net.load["q_mvar"] * net.load["scaling"]).to_numpy(float)
    g0 = (net.sgen["p_mw"] * net.sgen["scaling"]).to_numpy(float)
    lf = rng.uniform(0.3, 1.3, size=shape + (len(p0),))
    return {
        "load_p_mw": p0 * lf,
        "load_q_mvar": q0 * lf,
        "sgen_p_mw": g0 * rng.uniform(0.0, 1.2, size=shape + (len(g0),)),
    }


def reference(net: Any, inputs: dict[str, np.ndarray], **options: Any) -> dict[str, np.ndarray]:
    """pandapower runpp per interval; ``bus_p_mw`` injections become sgens."""
    net = copy.deepcopy(net)
    net.load["scaling"], net.sgen["scaling"] = 1.0, 1.0
    k = len(inputs["load_p_mw"])
    bus_p = inputs.get("bus_p_mw", np.zeros((k, len(net.bus))))
    extra = [pp.create_sgen(net, int(b), p_mw=0.0) for b in net.bus.index]
    out: dict[str, list[Any]] = {"vm": [], "va": [], "line": [], "trafo": [], "losses": [], "ok": []}
    for i in range(k):
        net.load["p_mw"], net.load["q_mvar"] = inputs["load_p_mw"][i], inputs["load_q_mvar"][i]
        if "sgen_p_mw" in inputs:
            net.sgen.loc[net.sgen.index[: len(net.sgen) - len(extra)], "p_mw"] = inputs["sgen_p_mw"][i]
        net.sgen.loc[extra, "p_mw"] = bus_p[i]
        try:
            pp.runpp(net, numba=False, init="dc", **options)
        except pp.LoadflowNotConverged:
            out["ok"].append(False)
            continue
        out["ok"].append(True)
        out["vm"].append(net.res_bus["vm_pu"].to_numpy())
        out["va"].append(net.res_bus["va_degree"].to_numpy())
        out["line"].append(net.res_line["loading_percent"].to_numpy())
        out["trafo"].append(net.res_trafo["loading_percent"].to_numpy())
        out["losses"].append(net.res_line["pl_mw"].sum() + net.res_trafo["pl_mw"].sum())
    return {key: np.array(v) for key, v in out.items()}


def assert_matches(res: Any, ref: dict[str, np.ndarray], rows: Any = slice(None)) -> None:
    vm, va = res.vm_pu[rows], res.va_degree[rows]
    np.testing.assert_array_equal(np.isnan(vm), np.isnan(ref["vm"]))
    assert np.nanmax(np.abs(vm - ref["vm"])) <= 1e-6
    assert np.nanmax(np.abs(va - ref["va"])) <= 1e-4
    np.testing.assert_allclose(res.losses_mw[rows], ref["losses"], rtol=1e-6)
    for ours, theirs in (
        (res.line_loading_percent[rows], ref["line"]),
        (res.trafo_loading_percent[rows], ref["trafo"]),
    ):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", NETWORKS)
def test_matches_pandapower_newton_raphson(make: Callable[[], Any]) -> None:
    net = make()
    inputs = injections(net, (T,))
    res = solve_timeseries(copy.deepcopy(net), **inputs)
    assert res.shape == (T,) and res.converged.all() and res.describe_failures() == ""
    if len(net.line) and not net.line["in_service"].all():  # case33bw's open tie lines: 0, as pandapower
        assert (res.line_loading_percent[:, ~net.line["in_service"].to_numpy()] == 0).all()
    assert res.vm_pu.shape == (T, len(net.bus)) and list(res.bus) == list(net.bus.index)
    assert res.line_loading_percent.shape == (T, len(net.line))
    assert np.all(res.mismatch_mva < 1e-8)
    assert_matches(res, reference(net, inputs))


def test_zip_loads_pv_generator_shunt_and_bus_injections(case33bw: Callable[[], Any]) -> None:
    net = case33bw()
    rng = np.random.default_rng(3)
    n = len(net.load)
    net.load["const_z_p_percent"], net.load["const_i_p_percent"] = (
        rng.uniform(0, 50, n),
        rng.uniform(0, 50, n),
    )
    net.load["const_z_q_percent"], net.load["const_i_q_percent"] = (
        rng.uniform(0, 50, n),
        rng.uniform(0, 50, n),
    )
    pp.create_gen(net, bus=17, p_mw=0.4, vm_pu=0.98)
    pp.create_shunt(net, bus=30, q_mvar=-0.3)
    inputs = injections(net, (8,), seed=4)
    battery = np.zeros((8, len(net.bus)))
    battery[:, [10, 24]] = rng.uniform(-0.4, 0.4, size=(8, 2))  # charge < 0 < discharge [MW]
    inputs["bus_p_mw"] = battery
    model = TimeseriesPowerFlow.from_net(copy.deepcopy(net), voltage_depend_loads=True)
    assert not model.model.grid.constant_power and len(model.model.grid.pv) == 1
    res = model.solve(**inputs)
    assert res.converged.all()
    assert np.allclose(res.vm_pu[:, 17], 0.98)  # the PV bus holds its set point
    assert_matches(res, reference(net, inputs, voltage_depend_loads=True))


def test_out_of_service_bus_and_line_trafo_loading_by_power() -> None:
    net = pn.create_cigre_network_mv(with_der="pv_wind")
    net.bus.loc[14, "in_service"] = False  # line 14 now ends at a dead bus: NaN, as pandapower
    inputs = injections(net, (4,), seed=5)
    res = solve_timeseries(copy.deepcopy(net), pf_options={"trafo_loading": "power"}, **inputs)
    assert np.isnan(res.vm_pu[:, 14]).all() and np.isnan(res.line_loading_percent[:, 14]).all()
    assert_matches(res, reference(net, inputs, trafo_loading="power"))


def test_cases_and_scale_factors_broadcast(case33bw: Callable[[], Any]) -> None:
    model = TimeseriesPowerFlow.from_net(case33bw())
    inputs = injections(case33bw(), (2, 5), seed=6)
    both = model.solve(load_p_mw=inputs["load_p_mw"], load_q_mvar=inputs["load_q_mvar"])
    flat = model.solve(
        load_p_mw=inputs["load_p_mw"].reshape(10, -1), load_q_mvar=inputs["load_q_mvar"].reshape(10, -1)
    )
    assert both.shape == (2, 5) and both.vm_pu.shape == (2, 5, 33) and both.losses_mw.shape == (2, 5)
    np.testing.assert_array_equal(both.vm_pu.reshape(10, -1), flat.vm_pu)
    scale = np.array([0.5, 1.0, 1.5])
    by_scale = model.solve(load_scale=scale)
    by_power = model.solve(load_p_mw=model.load_p0 * scale[:, None])  # q keeps the power factor
    np.testing.assert_allclose(by_scale.vm_pu, by_power.vm_pu, atol=1e-12)
    base = model.solve()  # no input: the base case, shape ()
    net = case33bw()
    pp.runpp(net, numba=False)
    assert base.shape == () and np.max(np.abs(base.vm_pu - net.res_bus["vm_pu"].to_numpy())) <= 1e-6
    assert by_scale.iterations[1] <= 1  # scale 1 is the base case itself


def test_full_newton_stage_alone_matches_pandapower(monkeypatch: pytest.MonkeyPatch) -> None:
    import gridai.grid.newton_batch as newton_batch

    monkeypatch.setattr(newton_batch, "CHORD_RATE", 0.0)  # no chord step is good enough: all to Newton
    net = pn.create_cigre_network_mv(with_der="pv_wind")
    inputs = injections(net, (6,), seed=7)
    res = solve_timeseries(copy.deepcopy(net), **inputs)
    assert res.converged.all() and res.iterations.min() >= 2  # one chord step, then Newton's
    assert_matches(res, reference(net, inputs))


def test_non_convergence_is_reported_by_interval(
    case33bw: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> None:
    net = case33bw()
    with caplog.at_level(logging.WARNING, logger="gridai.grid.timeseries_pf"):
        res = solve_timeseries(copy.deepcopy(net), load_scale=[1.0, 30.0, 0.5])  # x30: voltage collapse
    assert res.converged.tolist() == [True, False, True]
    assert res.not_converged == [(1,)] and res.mismatch_mva[1] > 1e-8
    assert "did not converge in 1 of 3 intervals: 1 (mismatch" in res.describe_failures()
    assert res.describe_failures() in caplog.text
    p0 = net.load["p_mw"].to_numpy()
    q0 = net.load["q_mvar"].to_numpy()
    ref = reference(net, {"load_p_mw": np.outer([1.0, 0.5], p0), "load_q_mvar": np.outer([1.0, 0.5], q0)})
    assert_matches(res, ref, rows=[0, 2])


def test_base_case_that_does_not_converge_still_builds(case33bw: Callable[[], Any]) -> None:
    net = case33bw()
    net.load["scaling"] = 30.0  # pandapower diverges on the net as given
    res = TimeseriesPowerFlow.from_net(net).solve(load_scale=[1.0 / 30.0, 1.0])
    assert res.converged.tolist() == [True, False]
    ok = case33bw()
    pp.runpp(ok, numba=False)
    assert np.max(np.abs(res.vm_pu[0] - ok.res_bus["vm_pu"].to_numpy())) <= 1e-6


@pytest.mark.parametrize(
    "option",
    [
        pytest.param({"enforce_q_lims": True}, id="q_lims"),
        pytest.param({"distributed_slack": True}, id="dist_slack"),
    ],
)
def test_unsupported_options_are_refused(case33bw: Callable[[], Any], option: dict[str, Any]) -> None:
    with pytest.raises(GridAIDataError, match="time-series power flow supports") as info:
        TimeseriesPowerFlow.from_net(case33bw(), **option)
    assert info.value.details["unsupported"] == list(option)


def test_facts_devices_are_refused(case33bw: Callable[[], Any]) -> None:
    net = case33bw()
    pp.create_svc(
        net, bus=17, x_l_ohm=1.0, x_cvar_ohm=-10.0, set_vm_pu=1.0, thyristor_firing_angle_degree=90.0
    )
    with pytest.raises(GridAIDataError, match="in-service 'svc'"):
        TimeseriesPowerFlow.from_net(net)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        pytest.param({"load_p_mw": np.ones((4, 3))}, r"load_p_mw must be shaped \(\.\.\., 32\)", id="n_load"),
        pytest.param({"bus_p_mw": np.full((2, 33), np.nan)}, "bus_p_mw has non-finite", id="nan"),
        pytest.param({"load_scale": [1.0], "load_p_mw": np.ones((1, 32))}, "not both", id="scale_and_p"),
        pytest.param({"load_scale": np.ones(4), "sgen_scale": np.ones(3)}, "do not broadcast", id="shapes"),
    ],
)
def test_bad_inputs_are_data_errors(
    case33bw: Callable[[], Any], inputs: dict[str, Any], message: str
) -> None:
    model = TimeseriesPowerFlow.from_net(case33bw())
    with pytest.raises(GridAIDataError, match=message):
        model.solve(**inputs)
