"""Numeric dates such as 03/04/2024: day first or month first from the data or the user, never guessed.

Before, pandas' inference read a dd/mm file month first whenever every day was <= 12, with exit 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridai.data.options import ReaderOptions
from gridai.data.readers import read_long, read_weather_forecast_wide, read_wide_csv
from gridai.exceptions import GridAIDataError

from support import stamps_csv as _csv
from support import write_file as _write


def _days(d: str) -> list[str]:
    return [str(pd.Timestamp(x).date()) for x in d.split()]


# (file stamps, options, the ISO dates they must read as)
READ_RIGHT = [
    pytest.param(["13/02/2024", "14/02/2024"], {}, "2024-02-13 2024-02-14", id="dayfirst-inferred-day-above-12"),
    pytest.param(["02/12/2024", "02/13/2024"], {}, "2024-02-12 2024-02-13", id="monthfirst-inferred-day-above-12"),
    pytest.param(["01/02/24 00:00", "02/02/24 00:00", "13/02/24 00:00"], {}, "2024-02-01 2024-02-02 2024-02-13", id="dayfirst-two-digit-year-with-time"),
    pytest.param(["01.02.2024", "25.02.2024"], {}, "2024-02-01 2024-02-25", id="dots"),
    pytest.param(["01-02-2024", "01-22-2024"], {}, "2024-01-02 2024-01-22", id="dashes-monthfirst"),
    pytest.param(["01/02/2024", "03/02/2024"], {"dayfirst": True}, "2024-02-01 2024-02-03", id="ambiguous-with-dayfirst"),
    pytest.param(["01/02/2024", "03/02/2024"], {"dayfirst": False}, "2024-01-02 2024-03-02", id="ambiguous-with-monthfirst"),
    pytest.param(["01/02/2024 00:00", "03/02/2024 00:00"], {"date_format": "%d/%m/%Y %H:%M"}, "2024-02-01 2024-02-03", id="ambiguous-with-date-format"),
    pytest.param(["01/01/2024", "02/02/2024", "03/03/2024"], {}, "2024-01-01 2024-02-02 2024-03-03", id="day-equals-month-reads-one-way"),
    pytest.param(["2024-01-02", "2024-01-03"], {}, "2024-01-02 2024-01-03", id="iso-unaffected"),
    pytest.param(["2024/01/02", "2024/01/03"], {}, "2024-01-02 2024-01-03", id="year-first-slashes-unaffected"),
    pytest.param(["31/12/99", "01/01/00"], {}, "1999-12-31 2000-01-01", id="two-digit-year-pivot"),
]  # fmt: skip


@pytest.mark.parametrize(("stamps", "opts", "dates"), READ_RIGHT)
def test_day_month_order_read_right(tmp_path: Path, stamps: list[str], opts: dict, dates: str) -> None:
    ds = read_wide_csv(_write(tmp_path / "d.csv", _csv(stamps)), opts=ReaderOptions(**opts))
    assert [str(pd.Timestamp(t).date()) for t in ds["time"].values] == _days(dates)


# (file stamps, options, substrings of the message)
REFUSED = [
    pytest.param(["01/02/24 00:00", "02/02/24 00:00", "03/02/24 00:00"], {},
                 ("ambiguous dates", "'timestamp'", "row 2: '01/02/24 00:00'", "2024-02-01 read day first",
                  "2024-01-02 read month first", "row 4", "--dayfirst", "--monthfirst", "--date-format '%d/%m/%y %H:%M'"),
                 id="ambiguous-ddmmyy"),
    pytest.param(["05/06/2024", "06/06/2024"], {}, ("ambiguous dates", "2024-06-05", "2024-05-06", "dayfirst"), id="ambiguous-without-time"),
    pytest.param(["13/01/2024", "01/13/2024"], {}, ("inconsistent date order", "row 2", "row 3"), id="inconsistent-order"),
    pytest.param(["13/01/2024", "14/01/2024"], {"dayfirst": False}, ("contradict --monthfirst", "row 2: '13/01/2024'"), id="option-contradicts-file"),
    pytest.param(["01/02/2024", "02/02/2024"], {"date_format": "%Y-%m-%d"}, ("do not match date_format '%Y-%m-%d'", "row 2"), id="date-format-mismatch"),
    pytest.param(["31/02/2024", "13/02/2024"], {}, ("unparseable", "'31/02/2024'"), id="impossible-day"),
]  # fmt: skip


@pytest.mark.parametrize(("stamps", "opts", "names"), REFUSED)
def test_day_month_order_refused(
    tmp_path: Path, stamps: list[str], opts: dict, names: tuple[str, ...]
) -> None:
    with pytest.raises(GridAIDataError) as err:
        read_wide_csv(_write(tmp_path / "d.csv", _csv(stamps)), opts=ReaderOptions(**opts))
    for name in names:
        assert name in str(err.value)


def test_day_month_order_long_and_weather_forecast(tmp_path: Path) -> None:
    long = _write(tmp_path / "l.csv", "timestamp,series_id,value\n01/02/2024,a,1\n02/02/2024,a,2\n")
    with pytest.raises(GridAIDataError, match="ambiguous dates"):
        read_long(long)
    assert str(read_long(long, opts=ReaderOptions(dayfirst=True))["time"].values[1])[:10] == "2024-02-02"
    wf = _write(tmp_path / "wf.csv", "timestamp,s\n01/02/2024 00:00,1\n01/02/2024 01:00,2\n")
    with pytest.raises(GridAIDataError, match="ambiguous dates"):
        read_weather_forecast_wide(wf)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.dates(min_value=pd.Timestamp("1990-01-01").date(), max_value=pd.Timestamp("2060-01-01").date()),
    days=st.integers(min_value=2, max_value=40),
    dayfirst=st.booleans(),
)
def test_numeric_dates_are_never_silently_misread(
    tmp_path: Path, start: object, days: int, dayfirst: bool
) -> None:
    """Invariant: a dd/mm or mm/dd file without an option reads as written or is refused, never misread."""
    truth = pd.date_range(pd.Timestamp(str(start)), periods=days, freq="D")
    stamps = list(truth.strftime("%d/%m/%Y" if dayfirst else "%m/%d/%Y"))
    path = _write(tmp_path / "p.csv", _csv(stamps))
    try:
        ds = read_wide_csv(path)
    except GridAIDataError as err:
        assert "ambiguous dates" in str(err)
    else:
        np.testing.assert_array_equal(ds["time"].values, truth.values)
    ds = read_wide_csv(path, opts=ReaderOptions(dayfirst=dayfirst))
    np.testing.assert_array_equal(ds["time"].values, truth.values)
