"""The shared network layer: safe loading and flattening of pandapower networks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandapower as pp
import pytest

from gridai.exceptions import GridAIDataError
from gridai.grid.topology import (
    check_radial,
    feeder_arrays,
    find_loop,
    load_network,
    read_network_json,
)


@pytest.mark.parametrize(
    ("name", "n_bus", "n_slack"),
    [
        pytest.param("case33bw", 33, 1, id="case33bw"),
        pytest.param("cigre_mv", 15, 1, id="cigre_mv"),
        pytest.param("mv_oberrhein", 179, 2, id="mv_oberrhein", marks=pytest.mark.slow),
    ],
)
def test_builtin_networks_flatten_radial(name: str, n_bus: int, n_slack: int) -> None:
    arrays = feeder_arrays(load_network(name), name)
    assert arrays.n_bus == n_bus
    assert len(arrays.slack) == n_slack
    assert find_loop(arrays) is None  # every built-in is radial in its normal state
    assert np.all(arrays.r_pu > 0) and np.all(np.isfinite(arrays.x_pu))
    assert arrays.p_load_mw.sum() > 0


def test_case33bw_ties_are_the_open_switchable_lines() -> None:
    arrays = feeder_arrays(load_network("case33bw"), "case33bw")
    assert arrays.switchable.all()
    assert int((~arrays.closed).sum()) == 5  # the five normally-open tie lines
    # closing any one tie makes exactly one loop, and check_radial names it
    closed = arrays.closed.copy()
    closed[np.flatnonzero(~arrays.closed)[0]] = True
    loop = find_loop(arrays, closed)
    assert loop is not None and len(loop) >= 3
    with pytest.raises(GridAIDataError, match="meshed"):
        check_radial(arrays, closed)


def test_json_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    pp.to_json(load_network("case33bw"), str(path))
    a = feeder_arrays(read_network_json(path))
    b = feeder_arrays(load_network("case33bw"))
    np.testing.assert_allclose(a.r_pu, b.r_pu)
    np.testing.assert_allclose(a.p_load_mw, b.p_load_mw)


def test_json_naming_arbitrary_code_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "evil.json"
    path.write_text(json.dumps({"_module": "os", "_class": "system", "_object": "echo pwned"}))
    with pytest.raises(GridAIDataError, match=r"os\.system"):
        read_network_json(path)


@pytest.mark.parametrize(
    "spec",
    [pytest.param("no_such_grid", id="unknown-name"), pytest.param("missing.json", id="missing-file")],
)
def test_unknown_network_is_a_clear_error(spec: str) -> None:
    with pytest.raises(GridAIDataError):
        load_network(spec)


def test_network_without_source_is_rejected() -> None:
    net = load_network("case33bw")
    net.ext_grid["in_service"] = False
    with pytest.raises(GridAIDataError, match="no source"):
        feeder_arrays(net, "case33bw")
