"""Interval labels: ``24:00`` is read only as an interval end; hour-ending files read as starts warn.

Before, ``24:00`` was read as the next midnight whatever ``interval`` said, so an hour-ending file
read with the default ``interval: start`` landed every value one hour late, with exit 0.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from gridai.data.options import ReaderOptions
from gridai.data.readers import read_wide_csv
from gridai.exceptions import GridAIDataError

from support import stamps_csv as _csv
from support import write_file as _write


@pytest.mark.parametrize(
    "last",
    [pytest.param("2024-01-01 24:00", id="space"), pytest.param("2024-01-01T24:00", id="iso-T"),
     pytest.param("2024-01-01 24:00:00", id="seconds")],
)  # fmt: skip
def test_24_00_needs_interval_end(tmp_path: Path, last: str) -> None:
    path = _write(tmp_path / "he.csv", _csv(["2024-01-01 22:00", "2024-01-01 23:00", last]))
    with pytest.raises(GridAIDataError) as err:
        read_wide_csv(path)
    assert "'24:00'" in str(err.value) and "--interval end" in str(err.value) and "row 4" in str(err.value)
    ds = read_wide_csv(path, opts=ReaderOptions(interval="end"))
    assert [str(t)[11:16] for t in ds["time"].values] == ["21:00", "22:00", "23:00"]


def test_24_00_with_dayfirst_dates(tmp_path: Path) -> None:
    path = _write(tmp_path / "he.csv", _csv(["31/12/2024 23:00", "31/12/2024 24:00"]))
    ds = read_wide_csv(path, opts=ReaderOptions(interval="end", dayfirst=True))
    assert [str(t)[:16] for t in ds["time"].values] == ["2024-12-31T22:00", "2024-12-31T23:00"]


LOOKS = [
    pytest.param("2024-01-01 01:00", "2024-01-02 00:00", "1h", "start", True, id="hour-ending-as-start-warns"),
    pytest.param("2024-01-01 00:15", "2024-01-02 00:00", "15min", "start", True, id="quarter-hour-ending-warns"),
    pytest.param("2024-01-01 01:00", "2024-01-03 00:00", "1h", "end", False, id="hour-ending-as-end-silent"),
    pytest.param("2024-01-01 00:00", "2024-01-01 23:00", "1h", "start", False, id="hour-starting-silent"),
    pytest.param("2024-01-01 01:00", "2024-01-01 23:00", "1h", "start", False, id="starts-at-01-ends-before-midnight"),
    pytest.param("2024-01-01 00:00", "2024-01-05 00:00", "1D", "start", False, id="daily-silent"),
]  # fmt: skip


@pytest.mark.parametrize(("first", "last", "freq", "interval", "warns"), LOOKS)
def test_hour_ending_look_warns_with_interval_start(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    first: str,
    last: str,
    freq: str,
    interval: str,
    warns: bool,
) -> None:
    text = list(pd.date_range(first, last, freq=freq).strftime("%Y-%m-%d %H:%M"))
    path = _write(tmp_path / "h.csv", _csv(text))
    with caplog.at_level(logging.WARNING, logger="gridai.data.timeindex"):
        read_wide_csv(path, opts=ReaderOptions(interval=interval))  # type: ignore[arg-type]
    hits = [r.getMessage() for r in caplog.records if "hour-ending" in r.getMessage()]
    assert bool(hits) == warns
    if warns:
        assert "--interval end" in hits[0] and "h.csv" in hits[0]
