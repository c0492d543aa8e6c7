"""A CSV cut mid-line (its last row without a newline and short of fields or digits) is refused;
a complete last row without a newline reads as usual.

Before, a copy interrupted in the last number kept "143" for 143512, with exit 0.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridai.data.options import ReaderOptions
from gridai.data.sources import read_source
from gridai.exceptions import GridAIDataError


def _body(n: int = 48, magnitude: int = 143_000) -> str:
    t = pd.date_range("2024-01-01", periods=n, freq="h")
    return "timestamp,a\n" + "".join(f"{ts:%Y-%m-%d %H:%M},{magnitude + 17 * i}\n" for i, ts in enumerate(t))


def _long_body(n: int = 24) -> str:
    t = pd.date_range("2024-01-01", periods=n, freq="h")
    return "timestamp,series_id,value\n" + "".join(
        f"{ts:%Y-%m-%d %H:%M},{s},{143_000 + 17 * i}\n" for i, ts in enumerate(t) for s in ("a", "b")
    )


def _cut(text: str, chars: int) -> str:
    return text.rstrip("\n")[:-chars]


TRUNCATED = [
    pytest.param("cut.csv", _cut(_body(), 3), ("cut.csv", "looks truncated", "row 49", "'143'", "column 'a'"), id="wide-value-cut"),
    pytest.param("cut.csv", _cut(_body(), 13), ("looks truncated", "row 49", "1 of the 2 fields"), id="wide-timestamp-cut"),
    pytest.param("cut.csv", _cut(_body(), 6), ("looks truncated", "row 49", "'a'", "is empty"), id="wide-cut-after-comma"),
    pytest.param("cut.csv", "timestamp,a,b\n" + "".join(f"2024-01-01 {h:02d}:00,{9000 + h},{88000 + h}\n" for h in range(12)) + "2024-01-01 12:00,9012,8",
                 ("looks truncated", "row 14", "'8'", "column 'b'"), id="wide-last-of-two-columns-cut"),
    pytest.param("cut.csv", _cut(_long_body(), 4), ("looks truncated", "row 49", "'14'", "column 'value'"), id="long-value-cut"),
    pytest.param("cut.csv", _cut(_long_body(), 7), ("looks truncated", "row 49", "2 of the 3 fields"), id="long-value-missing"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "names"), TRUNCATED)
@pytest.mark.parametrize("gz", [pytest.param(False, id="plain"), pytest.param(True, id="gzip")])
def test_truncated_last_line_is_refused(
    tmp_path: Path, name: str, text: str, names: tuple[str, ...], gz: bool
) -> None:
    path = tmp_path / (name + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    with pytest.raises(GridAIDataError) as err:
        read_source(path, "load")
    for part in names:
        assert part in str(err.value)


COMPLETE = [
    pytest.param(_body().rstrip("\n"), 143_000 + 17 * 47, id="wide-complete-without-newline"),
    pytest.param(_body().rstrip("\n")[:-6] + "140000", 140_000, id="wide-plausible-value-without-newline"),
    pytest.param(_body().rstrip("\n")[:-6] + "0", 0, id="wide-zero-without-newline"),
    pytest.param(_cut(_body(), 3) + "\n", 143, id="wide-small-value-with-newline"),
    pytest.param(_body().rstrip("\n")[:-6] + "\n", np.nan, id="wide-empty-value-with-newline"),
    pytest.param(_body().replace("\n", "\r\n").rstrip("\r\n")[:-3] + "\r\n", 143, id="crlf-small-value-with-newline"),
    pytest.param(_long_body().rstrip("\n"), 143_000 + 17 * 23, id="long-complete-without-newline"),
    pytest.param(_body(n=1).rstrip("\n")[:-3], 143, id="one-row-cannot-be-judged"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "last"), COMPLETE)
@pytest.mark.parametrize("gz", [pytest.param(False, id="plain"), pytest.param(True, id="gzip")])
def test_complete_or_unjudgeable_last_line_reads(tmp_path: Path, text: str, last: float, gz: bool) -> None:
    path = tmp_path / ("ok.csv" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    opts = ReaderOptions(resolution="1h") if text.count("\n") < 2 else None
    ds = read_source(path, "load", opts)
    np.testing.assert_equal(ds["load"].values[-1, -1], last)
