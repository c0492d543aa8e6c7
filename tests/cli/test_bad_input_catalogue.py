"""The bad-input catalogue: every case gets its documented exit code, a message naming the
culprit, leaves earlier outputs as they were and writes nothing outside its target.

Cases are grouped by class (the id prefix): ``config-*`` (YAML files of every command), ``date-*``
(command-line days), ``option-*`` (command-line values), ``network-*`` (pandapower JSON files),
``data-*`` (load and weather files), ``output-*`` (targets gridai must not replace or escape). Each runs the real command line in-process, in a fresh
working directory holding a published run ``outputs/2008-06-30/`` and a file outside any target;
both must be unchanged afterwards, and no file may appear (a bad input writes nothing).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandapower as pp
import pandapower.networks as pn
import pytest
from typer.testing import CliRunner

from gridai.cli.main import app

from support import FIXTURES, GEFCOM_DIR, gefcom_job_yaml

pytestmark = pytest.mark.timeout(120)

BAD = FIXTURES / "bad_inputs"
DAY = "2008-06-30"


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, the command, and what must come out."""

    make: Callable[[Path], list[str]]  # builds the inputs in the working dir, returns the CLI args
    code: int
    names: tuple[str, ...]  # substrings the message must contain (the culprit)
    allowed_new: tuple[str, ...] = field(default=())  # files a run may legitimately create


# ------------------------------------------------------------------------------------ commands
def _dayahead_yaml(extra: str = "") -> str:
    if extra.startswith("feeders:"):
        feeders, _, rest = extra.partition("\n")
        return gefcom_job_yaml(feeders.removeprefix("feeders:").strip(), rest)
    return gefcom_job_yaml(extra=extra)


def _forecast_dir(wd: Path, series: str = "zone_1") -> Path:
    from gridai.dispatch.testing import daily_profile_kw, make_forecast

    fdir = wd / "fc"
    fdir.mkdir(exist_ok=True)
    make_forecast({series: daily_profile_kw(24, 800.0)}, freq="1h", quantiles=(0.1, 0.5, 0.9)).to_netcdf(
        fdir / "forecast.nc", engine="h5netcdf"
    )
    return fdir


COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "run": lambda wd, cfg: [
        "run",
        "day-ahead",
        "--date",
        DAY,
        "-c",
        str(cfg),
        "--out",
        "outputs",
        "--no-dask",
    ],
    "dispatch": lambda wd, cfg: [
        "dispatch",
        "-c",
        str(cfg),
        "--forecast",
        str(_forecast_dir(wd)),
        "--out",
        "disp",
    ],
    "restore": lambda wd, cfg: ["restore", "--network", "case33bw", "--fault-line", "7", "-c", str(cfg)],
    "train": lambda wd, cfg: ["train", "-c", str(cfg)],
    "data-check": lambda wd, cfg: ["data", "check", "--load", str(GEFCOM_DIR), "-c", str(cfg)],
}
#: A valid document per command, which the defects below are added to.
VALID: dict[str, str] = {
    "run": _dayahead_yaml(),
    "dispatch": "feeders: [{name: zone_1, batteries: [{name: B1, power_kw: 100, energy_kwh: 400}]}]\n",
    "restore": "time_limit_s: 10\n",
    "train": "forecast: {model: vanilla_mlr}\n",
    "data-check": "",
}


def _bomb() -> str:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


#: YAML defects: (id, bytes of the file given the command's valid document, substrings of the message).
YAML_DEFECTS: list[tuple[str, Callable[[str], bytes], tuple[str, ...]]] = [
    ("duplicate-top-key", lambda v: (v + "zzz: 1\nzzz: 2\n").encode(), ("duplicate key 'zzz'",)),
    ("duplicate-nested-key", lambda v: (v + "zzz:\n  a: 1\n  a: 2\n").encode(), ("duplicate key 'a'",)),
    ("alias-bomb", lambda v: _bomb().encode(), ("aliases",)),
    ("inf", lambda v: (v + "zzz: .inf\n").encode(), ("'zzz'", "finite")),
    ("minus-inf", lambda v: (v + "zzz: -.inf\n").encode(), ("'zzz'", "finite")),
    ("nan", lambda v: (v + "zzz: [1, .nan]\n").encode(), ("zzz[1]", "finite")),
    ("latin-1", lambda v: (v + "# caf").encode() + b"\xe9\n", ("not UTF-8",)),
    ("nul-bytes", lambda v: b"\x00\x01\x02binary", ("not valid YAML",)),
    ("unclosed-bracket", lambda v: (v + "zzz: [1, 2\n").encode(), ("not valid YAML",)),
    ("tab-indent", lambda v: (v + "zzz:\n\t- 1\n").encode(), ("not valid YAML",)),
    ("top-level-list", lambda v: b"- a\n- b\n", ("mapping",)),
    ("top-level-scalar", lambda v: b"just text\n", ("mapping",)),
    ("oversized", lambda v: (v + "#" + "x" * (1 << 20) + "\n").encode(), ("bytes",)),
    ("unknown-key", lambda v: (v + "no_such_key_anywhere: 1\n").encode(), ("no_such_key_anywhere",)),
]


def _yaml_case(command: str, defect: Callable[[str], bytes], names: tuple[str, ...]) -> Case:
    def make(wd: Path) -> list[str]:
        cfg = wd / "bad.yaml"
        cfg.write_bytes(defect(VALID[command]))
        return COMMANDS[command](wd, cfg)

    return Case(make, 2, ("bad.yaml", *names))


def _path_case(command: str, kind: str) -> Case:
    def make(wd: Path) -> list[str]:
        target = wd / "cfgdir"
        if kind == "directory":
            target.mkdir()
        return COMMANDS[command](wd, target)

    return Case(make, 2, ("cfgdir",))


CASES: list = [
    pytest.param(_yaml_case(cmd, defect, names), id=f"config-{cmd}-{name}")
    for cmd in COMMANDS
    for name, defect, names in YAML_DEFECTS
]
CASES += [
    pytest.param(_path_case(cmd, kind), id=f"config-{cmd}-{kind}")
    for cmd in COMMANDS
    for kind in ("missing", "directory")
]


# ------------------------------------------------------------------------------------ dates
def _date_case(command: str, value: str) -> Case:
    def make(wd: Path) -> list[str]:
        if command == "run":
            cfg = wd / "ok.yaml"
            cfg.write_text(VALID["run"])
            return ["run", "day-ahead", "--date", value, "-c", str(cfg), "--out", "outputs", "--no-dask"]
        if command == "forecast":
            return ["forecast", "--date", value, "--model-uri", str(wd / "nomodel"), "--out", "fcout"]
        return ["backtest", "--load", str(BAD / "empty.csv"), "--weather", str(BAD / "empty.csv"),
                "--train-end", value, "--test-end", "2008-07-01", "--out", "bt"]  # fmt: skip

    option = "--train-end" if command == "backtest" else "--date"
    return Case(make, 2, (option, repr(value)))


BAD_DATES = [
    ("ambiguous-slashes", "06/10/2008"),
    ("no-zero-padding", "2008-6-30"),
    ("not-a-day", "2008-02-30"),
    ("timestamp", "2008-06-30T00:00"),
    ("compact", "20080630"),
    ("words", "June 31st"),
    ("month-13", "2008-13-01"),
    ("two-digit-year", "08-06-30"),
]
CASES += [
    pytest.param(_date_case(cmd, value), id=f"date-{cmd}-{name}")
    for cmd in ("run", "forecast", "backtest")
    for name, value in BAD_DATES
]


# ------------------------------------------------------------------------------------ options
def _args(args: list[str], *names: str, code: int = 2) -> Case:
    return Case(lambda wd: list(args), code, names)


def _run_with(extra_yaml: str, *names: str, opts: tuple[str, ...] = ()) -> Case:
    def make(wd: Path) -> list[str]:
        cfg = wd / "job.yaml"
        cfg.write_text(_dayahead_yaml(extra_yaml))
        return ["run", "day-ahead", "--date", DAY, "-c", str(cfg), "--out", "outputs", "--no-dask", *opts]

    return Case(make, 2, ("job.yaml", *names))


CASES += [
    pytest.param(_args(["restore", "--network", "case33bw", "--fault-line", "7", "--time-limit", "-5"], "time_limit_s"), id="option-restore-negative-time-limit"),
    pytest.param(_args(["restore", "--network", "case33bw", "--fault-line", "7", "--time-limit", "0"], "time_limit_s"), id="option-restore-zero-time-limit"),
    pytest.param(_args(["restore", "--network", "case33bw", "--fault-line", "999"], "999"), id="option-restore-unknown-line"),
    pytest.param(_args(["restore", "--network", "case33bw", "--fault-line", "-1"], "-1"), id="option-restore-negative-line"),
    pytest.param(_args(["restore", "--network", "case33bw", "--fault-bus", "500"], "500"), id="option-restore-unknown-bus"),
    pytest.param(_args(["restore", "--network", "no_such_grid", "--fault-line", "1"], "no_such_grid"), id="option-restore-unknown-network"),
    pytest.param(_args(["restore", "--network", "case33bw", "--fault-line", "7", "--at", "2008-01-15T18:00"], "--forecast"), id="option-restore-at-without-forecast"),
    pytest.param(_args(["data", "check", "--load", "no/such/file.csv"], "no/such/file.csv"), id="option-data-missing-file"),
    pytest.param(_run_with("dispatch: {time_limit_s: -1}\n", "time_limit_s"), id="option-run-negative-time-limit"),
    pytest.param(_run_with("health: {peak_intervals: 0}\n", "peak_intervals"), id="option-run-zero-peak-intervals"),
    pytest.param(_run_with("dask: {n_workers: 0}\n", "n_workers"), id="option-run-zero-workers"),
    pytest.param(_run_with("dask: {connect_timeout_s: 1.0e9}\n", "connect_timeout_s"), id="option-run-unbounded-connect-timeout"),
    pytest.param(_run_with("feeders: [{name: f1, series: zone_1, network: no_such_grid}]\n", "no_such_grid", "feeders[0].network"), id="option-run-unknown-network"),
    pytest.param(_run_with("feeders: [{name: f1, series: zone_1, network: case33bw, batteries: [{name: b, bus: 999, power_kw: 100, energy_kwh: 400}]}]\n", "999", "feeders[0].batteries[0].bus"), id="option-run-battery-bus-not-in-network"),
]  # fmt: skip


# ------------------------------------------------------------------------------------ networks
def _net_body() -> dict:
    return json.loads(pp.to_json(pn.case33bw()))


def _network_case(build: Callable[[Path], str], *names: str) -> Case:
    def make(wd: Path) -> list[str]:
        path = wd / "net.json"
        path.write_text(build(wd))
        return ["restore", "--network", str(path), "--fault-line", "3"]

    return Case(make, 2, ("net.json", *names))


def _with_table(table: str, node: object) -> Callable[[Path], str]:
    def build(wd: Path) -> str:
        body = _net_body()
        body["_object"][table] = node
        return json.dumps(body)

    return build


def _nested_evil(wd: Path) -> str:
    payload = {"_module": "os", "_class": "system", "_object": f"touch {wd / 'pwned'}"}
    nested = {"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_object": {"x": payload}}
    table = {
        "_module": "pandas.core.frame",
        "_class": "DataFrame",
        "orient": "split",
        "_object": " " + json.dumps(nested),
    }
    body = _net_body()
    body["_object"]["line"] = table
    return json.dumps(body)


_DF = {"_module": "pandas.core.frame", "_class": "DataFrame", "orient": "split"}
CASES += [
    pytest.param(_network_case(_nested_evil, "line"), id="network-nested-net-leading-space"),
    pytest.param(_network_case(lambda wd: json.dumps({"_module": "os", "_class": "system", "_object": "id"}), "os.system"), id="network-top-level-object"),
    pytest.param(_network_case(_with_table("bus", {**_DF, "_object": str(GEFCOM_DIR / "Holiday_List.csv")}), "never followed"), id="network-table-names-a-file"),
    pytest.param(_network_case(_with_table("line", {"_module": "builtins", "_class": "eval", "_object": "1"}), "line"), id="network-class-not-dataframe"),
    pytest.param(_network_case(_with_table("std_types", {"line": {"_module": "os", "_class": "system"}}), "std_types"), id="network-object-in-std-types"),
    pytest.param(_network_case(_with_table("bus", {**_DF, "_object": json.dumps({"columns": ["vn_kv"], "index": [0], "data": [[1.0]]}), "dtype": {"vn_kv": "numpy.core.multiarray._reconstruct"}}), "dtype"), id="network-dtype-class-path"),
    pytest.param(_network_case(lambda wd: "[1, 2, 3]", "not a pandapower network"), id="network-a-list"),
    pytest.param(_network_case(lambda wd: '{"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_obj', "not valid JSON"), id="network-truncated"),
    pytest.param(_network_case(lambda wd: '{"a": 1}', "not a pandapower network"), id="network-json-not-a-network"),
    pytest.param(_network_case(lambda wd: "", "not valid JSON"), id="network-empty-file"),
]  # fmt: skip


# ------------------------------------------------------------------------------------ data files
def _data_case(make_file: Callable[[Path], Path], *names: str, extra: tuple[str, ...] = ()) -> Case:
    def make(wd: Path) -> list[str]:
        path = make_file(wd)
        return ["data", "check", "--load", str(path), *extra]

    return Case(make, 2, names)


def _fixture(name: str) -> Callable[[Path], Path]:
    return lambda wd: BAD / name


def _gz(kind: str) -> Callable[[Path], Path]:
    def make(wd: Path) -> Path:
        data = gzip.compress(b"timestamp,a\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n")
        if kind == "truncated":
            data = data[:30]
        else:
            raw = bytearray(data)
            raw[-6] ^= 0xFF
            data = bytes(raw)
        path = wd / f"{kind}.csv.gz"
        path.write_bytes(data)
        return path

    return make


def _written(name: str, content: bytes) -> Callable[[Path], Path]:
    def make(wd: Path) -> Path:
        path = wd / name
        path.write_bytes(content)
        return path

    return make


def _string_netcdf(wd: Path) -> Path:
    import numpy as np
    import pandas as pd
    import xarray as xr

    t = pd.date_range("2020-01-01", periods=48, freq="h")
    ds = xr.Dataset(
        {"load": (("time", "series"), np.full((48, 2), "x"))}, coords={"time": t, "series": ["a", "b"]}
    )
    path = wd / "strings.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    return path


DATA_FIXTURES = [
    ("all-nan-series", "all_nan_series.csv", ("meter_2",)),
    ("dst-repeat", "dst_fall_back_repeat.csv", ("2024-10-27 02:00",)),
    ("dst-repeat-three", "dst_fall_back_three_times.csv", ("2024-10-27 02:00",)),
    ("duplicated-rows", "duplicated_rows.csv", ("2024-01-01 07:00",)),
    ("empty", "empty.csv", ("empty.csv",)),
    ("enormous-value", "enormous_value.csv", ("meter_1",)),
    ("header-only", "header_only.csv", ("header_only.csv",)),
    ("long-duplicated-pairs", "long_duplicated_pairs.csv", ("'a'",)),
    ("mixed-time-zones", "mixed_time_zones.csv", ("mixed time zones",)),
    ("no-timestamp-column", "no_timestamp_column.csv", ("timestamp",)),
    ("non-monotonic", "non_monotonic.csv", ("row 13",)),
    ("off-grid", "off_grid_timestamp.csv", ("06:07",)),
    ("overflow", "overflow_value.csv", ("meter_1",)),
    ("text-in-numeric", "text_in_numeric.csv", ("meter_1", "n/a-ish")),
    ("unparseable-timestamps", "unparseable_timestamps.csv", ("yesterday",)),
    ("xlsx", "meters.xlsx", ("meters.xlsx",)),
]
CASES += [pytest.param(_data_case(_fixture(f), *n), id=f"data-{name}") for name, f, n in DATA_FIXTURES]
CASES += [
    pytest.param(_data_case(_gz("truncated"), "truncated.csv.gz", "gzip"), id="data-gz-truncated"),
    pytest.param(_data_case(_gz("badcrc"), "badcrc.csv.gz", "gzip"), id="data-gz-bad-crc"),
    pytest.param(_data_case(_written("long.csv", b"x" * (3 << 20)), "long.csv", "first line"), id="data-no-newline"),
    pytest.param(_data_case(_written("latin.csv", "timestamp,caf\xe9\n2020-01-01 00:00,1\n".encode("latin-1")), "latin.csv", "UTF-8"), id="data-latin-1"),
    pytest.param(_data_case(_written("garbage.nc", b"garbage"), "garbage.nc"), id="data-netcdf-garbage"),
    pytest.param(_data_case(_written("garbage.parquet", b"a,b"), "garbage.parquet"), id="data-parquet-garbage"),
    pytest.param(_data_case(_string_netcdf, "'load'", "not numbers"), id="data-netcdf-strings"),
    pytest.param(_data_case(lambda wd: wd, "directory"), id="data-a-directory"),
    pytest.param(_data_case(_written("ok.csv", b"timestamp,a\n2020-01-01 00:00,1\n2020-01-01 01:00,2\n"), "Mars/Olympus", extra=("--tz", "Mars/Olympus")), id="option-data-unknown-tz"),
]  # fmt: skip


# misread inputs: day/month order, hour-ending labels, a file cut mid-line
def _hourly(rows: int = 48, sep: str = "\n") -> bytes:
    lines = [f"2024-01-{1 + h // 24:02d} {h % 24:02d}:00,{143_000 + 17 * h}" for h in range(rows)]
    return ("timestamp,a" + sep + sep.join(lines) + sep).encode()


def _long_hourly(rows: int = 24) -> bytes:
    lines = [f"2024-01-01 {h:02d}:00,{s},{143_000 + 17 * h}" for h in range(rows) for s in ("a", "b")]
    return ("timestamp,series_id,value\n" + "\n".join(lines) + "\n").encode()


def _cut(data: bytes, n: int) -> bytes:
    return data.rstrip(b"\n")[:-n]


AMBIGUOUS = b"timestamp,a\n01/02/24 00:00,1\n02/02/24 00:00,2\n03/02/24 00:00,3\n"
DAY_FIRST = b"timestamp,a\n12/02/2024 00:00,1\n13/02/2024 00:00,2\n"
HOUR_ENDING = b"timestamp,a\n2024-01-01 22:00,1\n2024-01-01 23:00,2\n2024-01-01 24:00,3\n"


def _backtest_case(content: bytes, *names: str) -> Case:
    def make(wd: Path) -> list[str]:
        path = wd / "bt_load.csv"
        path.write_bytes(content)
        return ["backtest", "--load", str(path), "--weather", str(path), "--train-end", "2024-01-02",
                "--test-end", "2024-01-03", "--out", "bt", "--no-progress"]  # fmt: skip

    return Case(make, 2, ("bt_load.csv", *names))


def _convert_case(content: bytes, *names: str) -> Case:
    def make(wd: Path) -> list[str]:
        path = wd / "in.csv"
        path.write_bytes(content)
        return ["data", "convert", str(path), str(wd / "converted.nc")]

    return Case(make, 2, ("in.csv", *names))


CASES += [
    pytest.param(_data_case(_written("dates.csv", AMBIGUOUS), "dates.csv", "ambiguous dates", "'timestamp'", "row 2: '01/02/24 00:00'", "2024-02-01 read day first", "2024-01-02 read month first", "--dayfirst", "--monthfirst"), id="data-ambiguous-day-month"),
    pytest.param(_data_case(_written("dates.csv", b"timestamp,series_id,value\n05/06/2024,a,1\n06/06/2024,a,2\n"), "dates.csv", "ambiguous dates", "2024-06-05", "2024-05-06", "--dayfirst"), id="data-ambiguous-day-month-long"),
    pytest.param(_data_case(_written("dates.csv", b"timestamp,a\n13/01/2024,1\n01/14/2024,2\n"), "dates.csv", "inconsistent date order", "'13/01/2024'", "'01/14/2024'"), id="data-inconsistent-day-month"),
    pytest.param(_data_case(_written("dates.csv", DAY_FIRST), "dates.csv", "--monthfirst", "row 3: '13/02/2024 00:00'", extra=("--monthfirst",)), id="data-monthfirst-contradicted"),
    pytest.param(_data_case(_written("dates.csv", DAY_FIRST), "dates.csv", "date_format '%Y-%m-%d'", "row 2", extra=("--date-format", "%Y-%m-%d")), id="data-date-format-mismatch"),
    pytest.param(_convert_case(AMBIGUOUS, "ambiguous dates", "--dayfirst"), id="data-convert-ambiguous-day-month"),
    pytest.param(_backtest_case(AMBIGUOUS, "ambiguous dates", "--dayfirst"), id="data-backtest-ambiguous-day-month"),
    pytest.param(_data_case(_written("he.csv", HOUR_ENDING), "he.csv", "'24:00'", "row 4", "--interval end"), id="data-24-00-read-as-start"),
    pytest.param(_data_case(_written("he.csv", HOUR_ENDING.replace(b" 24:00", b"T24:00")), "he.csv", "'24:00'", "--interval end"), id="data-T24-00-read-as-start"),
    pytest.param(_backtest_case(HOUR_ENDING, "'24:00'", "--interval end"), id="data-backtest-24-00-read-as-start"),
    pytest.param(_data_case(_written("cut.csv", _cut(_hourly(), 3)), "cut.csv", "looks truncated", "row 49", "'143'"), id="data-truncated-value"),
    pytest.param(_data_case(_written("cut.csv", _cut(_hourly(), 13)), "cut.csv", "looks truncated", "row 49", "1 of the 2 fields"), id="data-truncated-timestamp"),
    pytest.param(_data_case(_written("cut.csv", _cut(_hourly(), 6)), "cut.csv", "looks truncated", "row 49", "is empty"), id="data-truncated-after-comma"),
    pytest.param(_data_case(_written("cut.csv", _hourly(sep="\r\n").rstrip(b"\r\n")[:-3]), "cut.csv", "looks truncated", "row 49", "'143'"), id="data-truncated-crlf"),
    pytest.param(_data_case(_written("cut.csv.gz", gzip.compress(_cut(_hourly(), 3))), "cut.csv.gz", "looks truncated", "row 49"), id="data-truncated-gz"),
    pytest.param(_data_case(_written("cut.csv", _cut(_long_hourly(), 4)), "cut.csv", "looks truncated", "row 49", "'value'"), id="data-truncated-long"),
    pytest.param(_convert_case(_cut(_hourly(), 3), "looks truncated", "row 49"), id="data-convert-truncated"),
]  # fmt: skip


# ------------------------------------------------------------------------------------ outputs
def _dispatch_into(prepare: Callable[[Path], Path], feeder: str = "zone_1") -> Callable[[Path], list[str]]:
    def make(wd: Path) -> list[str]:
        cfg = wd / "d.yaml"
        cfg.write_text(
            f"feeders: [{{name: '{feeder}', batteries: [{{name: B1, power_kw: 100, energy_kwh: 400}}]}}]\n"
        )
        fdir = _forecast_dir(wd, series=feeder)  # the feeder's series, so the name check is reached
        return ["dispatch", "-c", str(cfg), "--forecast", str(fdir), "--out", str(prepare(wd))]

    return make


def _foreign_dir(wd: Path) -> Path:
    return wd / "outputs"  # holds the published day-ahead run


def _symlink_dir(wd: Path) -> Path:
    link = wd / "linked"
    link.symlink_to(wd / "outputs", target_is_directory=True)
    return link


def _dangling(wd: Path) -> Path:
    link = wd / "dangling"
    link.symlink_to(wd / "nowhere", target_is_directory=True)
    return link


def _a_file(wd: Path) -> Path:
    return wd / "outside.txt"


def _run_out(prepare: Callable[[Path], Path]) -> Callable[[Path], list[str]]:
    def make(wd: Path) -> list[str]:
        cfg = wd / "job.yaml"
        cfg.write_text(_dayahead_yaml())
        return ["run", "day-ahead", "--date", DAY, "-c", str(cfg), "--out", str(prepare(wd)), "--no-dask"]

    return make


def _foreign_day(wd: Path) -> Path:
    theirs = wd / "theirs"
    (theirs / DAY).mkdir(parents=True)
    (theirs / DAY / "notes.txt").write_text("a folder named like the day, not gridai's")
    return theirs


CASES += [
    pytest.param(Case(_dispatch_into(_foreign_dir), 2, ("outputs", "did not write")), id="output-dispatch-into-published-run"),
    pytest.param(Case(_dispatch_into(_symlink_dir), 2, ("linked", "symbolic link")), id="output-dispatch-symlinked-out"),
    pytest.param(Case(_dispatch_into(_dangling), 2, ("dangling", "symbolic link")), id="output-dispatch-dangling-symlink"),
    pytest.param(Case(_dispatch_into(_a_file), 2, ("outside.txt", "not a directory")), id="output-dispatch-out-is-a-file"),
    pytest.param(Case(_dispatch_into(lambda wd: wd / "new", feeder="../escape"), 2, ("../escape",)), id="output-dispatch-feeder-name-escapes"),
    pytest.param(Case(_dispatch_into(lambda wd: wd / "new", feeder="/abs"), 2, ("/abs",)), id="output-dispatch-feeder-name-absolute"),
    pytest.param(Case(_run_out(_foreign_day), 2, (DAY, "did not write")), id="output-run-day-folder-not-gridai"),
    pytest.param(Case(_run_out(_a_file), 2, ("outside.txt",)), id="output-run-out-is-a-file"),
]  # fmt: skip


# --------------------------------------------------- weather forecasts of the day-ahead job
def _wf_csv(first: str, hours: int, issue: str | None = None) -> bytes:
    """A wide weather-forecast CSV of station_1 (optionally with an ``issue_time`` column)."""
    import pandas as pd

    rows = pd.date_range(first, periods=hours, freq="h")
    head = "timestamp,issue_time,station_1\n" if issue else "timestamp,station_1\n"
    body = "".join(f"{t:%Y-%m-%d %H:%M},{issue + ',' if issue else ''}21.5\n" for t in rows)
    return (head + body).encode()


def _run_with_wf(content: bytes, name: str = "wf.csv") -> Callable[[Path], list[str]]:
    """``run day-ahead`` of D (issue 10:00 on D-1) with ``--weather-forecast`` a file of ``content``."""

    def make(wd: Path) -> list[str]:
        cfg = wd / "job.yaml"
        cfg.write_text(_dayahead_yaml())
        (wd / name).write_bytes(content)
        return ["run", "day-ahead", "--date", DAY, "-c", str(cfg), "--out", "outputs", "--no-dask",
                "--weather-forecast", name]  # fmt: skip

    return make


CASES += [
    pytest.param(Case(_run_with_wf(_wf_csv("2008-06-29 10:00", 14)), 2, ("wf.csv", "does not cover 24 hour(s)", "2008-06-30 00:00")), id="data-weather-forecast-without-d"),
    pytest.param(Case(_run_with_wf(_wf_csv("2008-06-29 10:00", 30)), 2, ("wf.csv", "does not cover 8 hour(s)", "2008-06-30 16:00")), id="data-weather-forecast-ends-early"),
    pytest.param(Case(_run_with_wf(_wf_csv("2008-06-29 13:00", 35, issue="2008-06-29 12:00")), 2, ("wf.csv", "no forecast issued at or before", "2008-06-29 10:00")), id="data-weather-forecast-issued-after-issue-time"),
    pytest.param(Case(_run_with_wf(b"garbage", "wf.nc"), 2, ("wf.nc",)), id="data-weather-forecast-netcdf-garbage"),
    pytest.param(Case(_run_with_wf(b"", "none.csv"), 2, ("none.csv",)), id="data-weather-forecast-empty"),
]  # fmt: skip


# ------------------------------------------------------------------------------------ the check
def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    wd = tmp_path / "wd"
    published = wd / "outputs" / DAY
    published.mkdir(parents=True)
    (published / "run.json").write_text('{"status": "ok", "exit_code": 0}')
    (published / "schedules.csv").write_text("feeder,asset,time,p_kw,soc_kwh\nf1,b1,2008-06-30T00:00,1,2\n")
    (wd / "outside.txt").write_text("keep me")
    monkeypatch.chdir(wd)
    return wd


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: Case, workdir: Path) -> None:
    args = case.make(workdir)
    before = _snapshot(workdir)
    res = CliRunner().invoke(app, args)
    out = res.output
    assert res.exit_code == case.code, f"exit {res.exit_code}, expected {case.code}: {out}\n{res.exception!r}"
    assert "Traceback" not in out and "internal error" not in out, out
    for name in case.names:
        assert name in out, f"message does not name {name!r}: {out}"
    after = _snapshot(workdir)
    changed = {k for k in before if after.get(k) != before[k]}
    assert not changed, f"earlier files changed or removed: {sorted(changed)}"
    new = set(after) - set(before) - set(case.allowed_new)
    assert not new, f"a bad input wrote {sorted(new)}"
    assert not (workdir / "pwned").exists()


def test_catalogue_size() -> None:
    """The catalogue holds at least 150 cases across its classes."""
    classes = {p.id.split("-", 1)[0] for p in CASES}
    assert len(CASES) >= 150 and classes == {"config", "date", "option", "network", "data", "output"}
