"""``gridai data check / convert / show`` through the CLI, including the bad-input catalogue.

Every bad input must give exit code 2, a message naming the problem, and write nothing (no
report, no cleaned data, no temporary file left behind).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridai.cli.main import app
from gridai.testing import synthetic_load, write_wide_csv

BAD = Path(__file__).resolve().parents[1] / "fixtures" / "bad_inputs"
runner = CliRunner()


def _run(args: list[str]) -> tuple[int, str]:
    result = runner.invoke(app, args)
    return result.exit_code, " ".join(result.output.split())


def _check_rejected(tmp_path: Path, args: list[str], *expected: str) -> str:
    report, cleaned = tmp_path / "out" / "report.json", tmp_path / "out" / "clean.nc"
    code, text = _run(["data", "check", *args, "--report", str(report), "--out", str(cleaned)])
    assert code == 2, text
    for phrase in expected:
        assert phrase.lower() in text.lower(), f"{phrase!r} not in: {text}"
    assert not (tmp_path / "out").exists(), "nothing may be written when input is rejected"
    return text


CATALOGUE = [
    pytest.param(["--load", str(BAD / "empty.csv")], ["empty"], id="empty-file"),
    pytest.param(["--load", str(BAD / "header_only.csv")], ["header but no data rows"], id="header-only"),
    pytest.param(
        ["--load", str(BAD / "no_timestamp_column.csv")],
        ["missing timestamp column", "meter_1"],
        id="missing-timestamp-column",
    ),
    pytest.param(
        ["--load", str(BAD / "unparseable_timestamps.csv")],
        ["unparseable timestamps", "row 7", "yesterday"],
        id="unparseable-timestamps",
    ),
    pytest.param(
        ["--load", str(BAD / "mixed_time_zones.csv")], ["mixed time zones", "+01:00"], id="mixed-time-zones"
    ),
    pytest.param(
        ["--load", str(BAD / "non_monotonic.csv")], ["not in increasing order", "row 13"], id="non-monotonic"
    ),
    pytest.param(
        ["--load", str(BAD / "duplicated_rows.csv")],
        ["duplicated timestamps", "2024-01-01 07:00"],
        id="duplicated-rows",
    ),
    pytest.param(
        ["--load", str(BAD / "dst_spring_forward_gap.csv"), "--tz", "Europe/Amsterdam"],
        ["do not exist in Europe/Amsterdam", "2024-03-31 02:00"],
        id="dst-spring-forward-gap",
    ),
    pytest.param(
        ["--load", str(BAD / "dst_fall_back_repeat.csv")],
        ["duplicated timestamps", "2024-10-27 02:00", "time zone"],
        id="dst-fall-back-repeat-without-tz",
    ),
    pytest.param(
        ["--load", str(BAD / "dst_fall_back_three_times.csv"), "--tz", "Europe/Amsterdam"],
        ["duplicated timestamps"],
        id="dst-fall-back-hour-three-times",
    ),
    pytest.param(
        ["--load", str(BAD / "text_in_numeric.csv")],
        ["text in numeric column", "meter_1", "n/a-ish"],
        id="text-in-numeric-column",
    ),
    pytest.param(
        ["--load", str(BAD / "all_nan_series.csv")],
        ["empty_series", "meter_2", "no values"],
        id="all-nan-series",
    ),
    pytest.param(
        ["--load", str(BAD / "enormous_value.csv")],
        ["implausible_value", "meter_1", "2024-01-01T12:00"],
        id="enormous-value",
    ),
    pytest.param(
        ["--load", str(BAD / "overflow_value.csv")], ["not finite", "1e999"], id="overflowing-value"
    ),
    pytest.param(
        ["--load", str(BAD / "off_grid_timestamp.csv")], ["irregular_step", "06:07"], id="off-grid-timestamp"
    ),
    pytest.param(
        ["--load", str(BAD / "long_duplicated_pairs.csv")],
        ["duplicated rows", "'a'"],
        id="long-format-duplicated-pairs",
    ),
    pytest.param(["--load", str(BAD / "meters.xlsx")], ["unknown file type"], id="unknown-suffix"),
    pytest.param(
        ["--load", str(BAD / "nonexistent.csv")], ["does not exist", "nonexistent.csv"], id="nonexistent-path"
    ),
    pytest.param(["--load", str(BAD)], ["is a directory"], id="directory-given-as-file"),
    pytest.param(
        ["--load", "gefcom2012", "--config", str(BAD / "config_unknown_key.yaml")],
        ["unknown key", "outtlier_spike_ratio", "config_unknown_key.yaml"],
        id="config-unknown-key",
    ),
    pytest.param(
        ["--load", "gefcom2012", "--config", str(BAD / "config_wrong_type.yaml")],
        ["gap_error_hours", "a day", "config_wrong_type.yaml"],
        id="config-wrong-type",
    ),
    pytest.param(
        ["--load", str(BAD / "header_only.csv"), "--config", str(BAD / "missing.yaml")],
        ["does not exist"],
        id="config-missing",
    ),
    pytest.param(
        ["--load", str(BAD / "non_monotonic.csv"), "--tz", "Mars/Olympus_Mons"],
        ["unknown time zone"],
        id="unknown-time-zone",
    ),
    pytest.param(
        ["--load", str(BAD / "non_monotonic.csv"), "--interval", "middle"],
        ["interval"],
        id="bad-interval-option",
    ),
]


@pytest.mark.parametrize(("args", "expected"), CATALOGUE)
def test_bad_input_is_rejected_with_exit_2_and_nothing_written(
    tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    _check_rejected(tmp_path, args, *expected)


def test_catalogue_covers_at_least_15_bad_inputs() -> None:
    assert len(CATALOGUE) >= 15


def test_strict_mode_fails_on_gefcom_blank_weeks_and_writes_nothing(tmp_path: Path) -> None:
    text = _check_rejected(
        tmp_path, ["--load", "gefcom2012", "--no-solution", "--strict"], "gap", "2005-03-06"
    )
    assert "Load_history" in text


def test_report_path_that_is_a_directory_is_rejected(tmp_path: Path) -> None:
    code, text = _run(
        ["data", "check", "--load", str(BAD / "duplicated_rows.csv"), "--report", str(tmp_path)]
    )
    assert code == 2 and "is a directory" in text


def test_fall_back_repeat_reads_with_its_time_zone(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, text = _run(
        [
            "data",
            "check",
            "--load",
            str(BAD / "dst_fall_back_repeat.csv"),
            "--tz",
            "Europe/Amsterdam",
            "--report",
            str(report),
        ]
    )
    assert code == 0, text
    doc = json.loads(report.read_text())
    kinds = [f["kind"] for f in doc["datasets"]["load"]["findings"]]
    assert "dst_transition" in kinds and "duplicate_timestamp" not in kinds


def test_check_writes_report_and_cleaned_data(tmp_path: Path) -> None:
    ds = synthetic_load(2, days=3)
    ds["load"].values[5:7, 0] = float("nan")
    csv = write_wide_csv(ds, tmp_path / "meters.csv")
    report, cleaned = tmp_path / "r" / "report.json", tmp_path / "r" / "clean.nc"
    code, text = _run(["data", "check", "--load", str(csv), "--report", str(report), "--out", str(cleaned)])
    assert code == 0, text
    assert "gap" in text
    doc = json.loads(report.read_text())
    assert doc["datasets"]["load"]["counts"]["warning"] >= 1
    from gridai.data.io import read_netcdf

    out = read_netcdf(cleaned)
    assert bool(out["imputed"].values[5:7, 0].all()) and not bool(out["imputed"].values[:, 1].any())
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["clean.nc", "report.json"]


def test_convert_and_show(tmp_path: Path) -> None:
    csv = write_wide_csv(synthetic_load(2, days=2), tmp_path / "m.csv")
    code, text = _run(["data", "convert", str(csv), str(tmp_path / "m.parquet")])
    assert code == 0, text
    code, text = _run(["data", "convert", str(csv), str(tmp_path / "m.nc")])
    assert code == 0, text
    code, text = _run(["data", "show", str(tmp_path / "m.nc")])
    assert code == 0 and "series_1" in text and "48 x 2" in text
    code, text = _run(["data", "convert", str(csv), str(tmp_path / "m.xlsx")])
    assert code == 2 and not (tmp_path / "m.xlsx").exists()


def test_data_help_is_useful() -> None:
    code, text = _run(["data", "--help"])
    assert code == 0
    for word in ("check", "convert", "show", "gefcom2012"):
        assert word in text
