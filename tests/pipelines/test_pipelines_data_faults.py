"""Faults in the last days before D change the job's outcome: a data_fault fallback naming the series,
exit 1 (or, strict, the baseline with the gate failed); clean data gives none."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridai.exceptions import ExitCode

from support import DAYAHEAD_DAY, dayahead_cfg, run_dayahead

ISSUE = pd.Timestamp(DAYAHEAD_DAY) - pd.Timedelta(hours=14)


def _last(frame: pd.DataFrame, hours: int) -> np.ndarray:
    idx = pd.DatetimeIndex(frame.index)
    return np.asarray((idx >= ISSUE - pd.Timedelta(hours=hours)) & (idx < ISSUE))


def _kw_to_mw(f: pd.DataFrame) -> None:
    f.loc[_last(f, 40), "zone_1"] /= 1000.0


def _two_days_missing(f: pd.DataFrame) -> None:
    f.loc[_last(f, 48), "zone_2"] = np.nan


def _scada_hour_x100(f: pd.DataFrame) -> None:
    f.loc[pd.DatetimeIndex(f.index) == ISSUE - pd.Timedelta(hours=30), "zone_5"] *= 100


@pytest.mark.parametrize(
    ("fault", "series", "kind"),
    [
        pytest.param(_kw_to_mw, "zone_1", "unit_change", id="kW-to-MW"),
        pytest.param(_two_days_missing, "zone_2", "stale", id="last-two-days-missing"),
        pytest.param(_scada_hour_x100, "zone_5", "spike", id="scada-hour-x100"),
    ],
)
def test_fault_before_d_is_a_named_fallback(
    dayahead_inputs: dict[str, Path],
    tmp_path: Path,
    fault: Callable[[pd.DataFrame], None],
    series: str,
    kind: str,
) -> None:
    frame = pd.read_csv(dayahead_inputs["load"], index_col="timestamp", parse_dates=True)
    fault(frame)
    path = tmp_path / "load.csv"
    frame.to_csv(path, na_rep="")
    cfg = dayahead_cfg(dayahead_inputs, data__load_path=str(path))
    res = run_dayahead(cfg, tmp_path / "out")
    assert res.exit_code == ExitCode.FALLBACK
    doc = json.loads((tmp_path / "out" / DAYAHEAD_DAY / "run.json").read_text())
    faults = [f for f in doc["fallbacks"] if f["kind"] == "data_fault"]
    assert faults and any(series in f["reason"] and kind in f["reason"] for f in faults), doc["fallbacks"]
    assert series in (tmp_path / "out" / DAYAHEAD_DAY / "report.html").read_text()


def test_clean_inputs_have_no_data_fault(dayahead_reference: Path) -> None:
    doc = json.loads((dayahead_reference / DAYAHEAD_DAY / "run.json").read_text())
    assert not [f for f in doc["fallbacks"] if f["kind"] == "data_fault"]
