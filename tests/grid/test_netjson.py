"""The allow-list reader of pandapower JSON networks: data in, never code, never other files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pytest

from gridai.exceptions import GridAIDataError
from gridai.grid.netjson import parse_network_json, read_network_json


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(pn.case33bw, id="case33bw"),
        pytest.param(lambda: pn.create_cigre_network_mv(with_der="pv_wind"), id="cigre_mv"),
        pytest.param(pn.mv_oberrhein, id="mv_oberrhein"),
    ],
)
def test_round_trip_gives_the_same_power_flow_and_dtypes(make) -> None:  # type: ignore[no-untyped-def]
    net = make()
    text = pp.to_json(net)
    ours, theirs = parse_network_json(text), pp.from_json_string(text)
    pp.runpp(ours)
    pp.runpp(theirs)
    np.testing.assert_allclose(ours.res_bus.vm_pu.to_numpy(), theirs.res_bus.vm_pu.to_numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.res_line.pl_mw.to_numpy(), theirs.res_line.pl_mw.to_numpy(), atol=1e-12)
    for table in ("bus", "line", "load", "switch", "trafo", "ext_grid", "sgen"):
        assert list(ours[table].dtypes) == list(theirs[table].dtypes), table


def _net_with(table: str, node: object) -> str:
    body = json.loads(pp.to_json(pn.case33bw()))
    body["_object"][table] = node
    return json.dumps(body)


def _evil_payload(marker: Path) -> dict:
    return {"_module": "os", "_class": "system", "_object": f"touch {marker}"}


def _nested_net_table(marker: Path) -> dict:
    """A 'table' whose body, behind a leading space, is a whole net carrying the payload."""
    nested = {
        "_module": "pandapower.auxiliary",
        "_class": "pandapowerNet",
        "_object": {"x": _evil_payload(marker)},
    }
    return {
        "_module": "pandas.core.frame",
        "_class": "DataFrame",
        "orient": "split",
        "_object": " " + json.dumps(nested),
    }


def test_nested_net_behind_a_leading_space_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    table = _nested_net_table(marker)
    with pytest.raises(GridAIDataError, match="bus"):
        parse_network_json(_net_with("bus", table))
    assert not marker.exists()


def test_table_body_naming_a_file_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"columns": ["name"], "index": [0], "data": [["secret"]]}))
    table = {"_module": "pandas.core.frame", "_class": "DataFrame", "orient": "split", "_object": str(secret)}
    with pytest.raises(GridAIDataError, match="file name or URL is never followed"):
        parse_network_json(_net_with("bus", table))


@pytest.mark.parametrize(
    ("table", "node", "match"),
    [
        pytest.param("line", {"_module": "builtins", "_class": "eval", "_object": "1"}, "not a pandas DataFrame", id="class-not-dataframe"),
        pytest.param("std_types", {"line": {"_module": "os", "_class": "system"}}, "names an object", id="object-in-std-types"),
        pytest.param("bus", {"_module": "pandas.core.frame", "_class": "DataFrame", "orient": "split",
                             "_object": json.dumps({"columns": ["vn_kv"], "index": [0], "data": [[12.66]]}),
                             "dtype": {"vn_kv": "numpy.core.multiarray._reconstruct"}}, "dtype", id="dtype-class-path"),
        pytest.param("bus", {"_module": "pandas.core.frame", "_class": "DataFrame", "orient": "split",
                             "_object": json.dumps({"columns": ["vn_kv"], "index": [0], "data": [[{"_module": "os"}]]})},
                     "nested value", id="object-in-a-cell"),
        pytest.param("bus", {"_module": "pandas.core.frame", "_class": "DataFrame", "orient": "split",
                             "_object": json.dumps({"columns": ["vn_kv"], "index": [0, 1], "data": [[1.0]]})},
                     "2 index entries but 1 rows", id="ragged-table"),
        pytest.param("bus", {"_module": "pandas.core.frame", "_class": "DataFrame", "orient": "records", "_object": "[]"},
                     "split", id="other-orient"),
    ],
)  # fmt: skip
def test_anything_but_tables_scalars_and_plain_data_is_refused(table: str, node: object, match: str) -> None:
    with pytest.raises(GridAIDataError, match=match):
        parse_network_json(_net_with(table, node))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("[1, 2]", "not a pandapower network", id="a-list"),
        pytest.param(
            '{"_module": "os", "_class": "system", "_object": "id"}', r"os\.system", id="top-level-object"
        ),
        pytest.param(
            '{"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_ob',
            "line 1 column",
            id="truncated",
        ),
        pytest.param('{"a": 1}', "not a pandapower network", id="json-not-a-network"),
    ],
)
def test_not_a_network_is_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "net.json"
    path.write_text(text)
    with pytest.raises(GridAIDataError, match=match) as err:
        read_network_json(path)
    assert str(path) in err.value.message


@pytest.mark.slow
def test_restore_cli_refuses_the_payload_with_exit_2(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    table = _nested_net_table(marker)
    evil = tmp_path / "evil.json"
    evil.write_text(_net_with("line", table))
    res = subprocess.run(
        [sys.executable, "-m", "gridai.cli.main", "restore", "--network", str(evil), "--fault-line", "3"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "evil.json" in res.stderr and not marker.exists()


def test_pandapower_35_layout_round_trips() -> None:
    """What pandapower 3.5's to_json writes for SimBench-like nets: nested 'outer|inner' tables,
    a table inside a mapping (profiles), string indices with a name, a hyphenated column."""
    import pandas as pd

    net = pn.case33bw()
    net["profiles"] = {"load": pd.DataFrame({"time": [0, 1], "p_mw": [0.1, 0.2]})}
    net["loadcases"] = pd.DataFrame({"pload": [1.0, 0.8]}, index=pd.Index(["hL", "lW"], name="Study Case"))
    pp.create_storage(net, 17, p_mw=0.1, max_e_mwh=0.4)
    net.storage["self-discharge_percent_per_day"] = 0.5
    text = pp.to_json(net)
    ours, theirs = parse_network_json(text), pp.from_json_string(text)
    assert list(ours.loadcases.index) == ["hL", "lW"] and ours.loadcases.index.name == "Study Case"
    pd.testing.assert_frame_equal(ours.profiles["load"], theirs.profiles["load"])
    assert ours.storage["self-discharge_percent_per_day"].iloc[0] == 0.5
    assert set(ours.std_types) == set(theirs.std_types)
