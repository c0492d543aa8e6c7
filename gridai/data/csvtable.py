"""Reading delimited text tables: header, exact numbers, text located to the row.

Shared by the wide and long readers. Numbers go through pandas' C parser with round-trip
precision, so a value written with ``repr`` (as ``DataFrame.to_csv`` does) reads back bit for bit;
a column the parser cannot make numeric is scanned cell by cell to name the offending rows.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from gridai.exceptions import GridAIDataError

# How many offending rows a message shows.
SHOW = 5
TIMESTAMP_NAMES = ("timestamp", "time", "datetime", "date", "date_time", "datetime_utc", "time_utc")


#: Longest header line read [characters]: a longer first line is not a CSV header (and a file with
#: no newline at all is never read whole into memory to find out).
MAX_HEADER_CHARS = 1 << 20


def _unreadable(path: Path, err: BaseException) -> GridAIDataError:
    if isinstance(err, EOFError | gzip.BadGzipFile | zlib.error):
        return GridAIDataError(
            f"{path} is a truncated or corrupt gzip file ({type(err).__name__}: {err}); "
            "copy it again or decompress it to check",
            file=str(path),
        )
    if isinstance(err, UnicodeDecodeError):
        return GridAIDataError(
            f"{path} is not UTF-8 text (byte {err.start}); save it as UTF-8", file=str(path)
        )
    return GridAIDataError(f"cannot read {path}: {type(err).__name__}: {err}", file=str(path))


def read_header(path: Path) -> list[str]:
    """First line of a (possibly gzip-compressed) text file, split as CSV."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:  # type: ignore[operator]
            first = fh.readline(MAX_HEADER_CHARS + 1)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as err:
        raise _unreadable(path, err) from None
    if len(first) > MAX_HEADER_CHARS:
        raise GridAIDataError(
            f"the first line of {path} is longer than {MAX_HEADER_CHARS:,} characters: not a CSV header "
            "(is this a CSV file, with newlines?)",
            file=str(path),
        )
    if not first.strip():
        raise GridAIDataError(f"{path} is empty: expected a header line", file=str(path))
    return next(csv.reader([first]))


# Cell contents read as missing values (case variants listed: the parser matches exactly).
NA_TOKENS = ["", "NA", "N/A", "n/a", "na", "NaN", "nan", "NAN", "NULL", "null", "None", "none", "-", "#N/A"]


def read_csv_text(path: Path, *, sep: str, text_columns: list[str], thousands: str | None) -> pd.DataFrame:
    """pandas' C parser with exact (round-trip) float parsing; ``text_columns`` stay strings.

    A truncated or corrupt gzip file, non-UTF-8 bytes or an I/O error is a
    :class:`~gridai.exceptions.GridAIDataError` naming the file.
    """
    try:
        return pd.read_csv(
            path,
            sep=sep,
            dtype={c: str for c in text_columns},
            keep_default_na=False,
            na_values=NA_TOKENS,
            skipinitialspace=True,
            encoding="utf-8-sig",
            float_precision="round_trip",
            thousands=thousands,
        )
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as err:
        raise _unreadable(path, err) from None


def read_wide_frame(
    path: Path, timestamp_col: str | None, sep: str, thousands: str | None
) -> tuple[pd.DataFrame, str]:
    """Read a wide CSV as text columns; return it and the name of the timestamp column."""
    header = [h.strip() for h in read_header(path)]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise GridAIDataError(f"duplicated column names in the header of {path}: {dupes}", file=str(path))
    if timestamp_col is not None:
        if timestamp_col not in header:
            raise GridAIDataError(
                f"missing timestamp column {timestamp_col!r} in {path}; columns are {header[:10]}",
                file=str(path),
            )
        ts = timestamp_col
    else:
        named = [h for h in header if h.lower() in TIMESTAMP_NAMES]
        ts = named[0] if named else header[0]
    raw_ts = [h for h in read_header(path) if h.strip() == ts]
    try:
        frame = read_csv_text(path, sep=sep, text_columns=raw_ts, thousands=thousands)
    except pd.errors.EmptyDataError:
        raise GridAIDataError(f"{path} is empty: expected a header line", file=str(path)) from None
    except pd.errors.ParserError as err:
        raise GridAIDataError(f"{path} is not a well-formed CSV file: {err}", file=str(path)) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise GridAIDataError(f"{path} has a header but no data rows", file=str(path))
    unnamed = [c for c in frame.columns if c.startswith("Unnamed:") and bool(frame[c].isna().all())]
    frame = frame.drop(columns=unnamed)  # trailing commas
    if len(frame.columns) < 2:
        raise GridAIDataError(
            f"{path} needs a timestamp column and at least one data column; found {list(frame.columns)}",
            file=str(path),
        )
    if timestamp_col is None and ts == frame.columns[0] and ts.lower() not in TIMESTAMP_NAMES:
        as_number = pd.to_numeric(
            frame[ts].str.replace(thousands or "\x00", "", regex=False), errors="coerce"
        )
        if as_number.notna().all():
            raise GridAIDataError(
                f"missing timestamp column in {path}: no column is named "
                f"{'/'.join(TIMESTAMP_NAMES[:4])} and the first column {ts!r} holds numbers, not timestamps",
                file=str(path),
            )
    return frame, ts


def _cells(frame: pd.DataFrame, rows: np.ndarray, col: str, row_offset: int) -> str:
    return ", ".join(f"row {int(i) + row_offset}: {frame[col].iloc[i]!r}" for i in rows[:SHOW])


def parse_numeric(
    frame: pd.DataFrame, columns: list[str], *, file: str, thousands: str | None, row_offset: int = 2
) -> np.ndarray:
    """Convert text columns to a float array; empty cells and NA markers become NaN.

    Conversion goes through Python's correctly rounded ``float()``, so a value written with
    ``repr`` (as pandas' ``to_csv`` does) reads back bit for bit.

    Raises
    ------
    GridAIDataError
        Text that is not a number, or values that are not finite (``inf``, overflow such as ``1e999``).
    """
    out = np.empty((len(frame), len(columns)), dtype="float64")
    na_tokens = {"", "na", "nan", "n/a", "null", "none", "-", "#n/a"}
    for j, col in enumerate(columns):
        if frame[col].dtype.kind in "iuf":  # parsed by the C parser already (round-trip exact)
            out[:, j] = frame[col].to_numpy(dtype="float64")
            _reject_inf(frame, out[:, j], col, file, row_offset)
            continue
        text = frame[col].astype(str).str.strip()
        if thousands:
            text = text.str.replace(thousands, "", regex=False)
        is_na = np.asarray(text.str.lower().isin(na_tokens))
        cells = text.to_numpy(dtype=object)
        cells[is_na] = "nan"
        try:
            arr = cells.astype(np.float64)
        except ValueError:
            coerced = pd.to_numeric(pd.Series(cells), errors="coerce")
            bad = np.flatnonzero(np.asarray(coerced.isna()) & ~is_na)
            raise GridAIDataError(
                f"text in numeric column {col!r} of {file} ({len(bad)} cells, e.g. "
                f"{_cells(frame, bad, col, row_offset)})",
                file=file,
                series=col,
            ) from None
        _reject_inf(frame, arr, col, file, row_offset)
        out[:, j] = arr
    return out


def _reject_inf(frame: pd.DataFrame, arr: np.ndarray, col: str, file: str, row_offset: int) -> None:
    inf = np.flatnonzero(np.isinf(arr))
    if len(inf):
        raise GridAIDataError(
            f"values that are not finite numbers (infinite or beyond float64) in column {col!r} "
            f"of {file} ({_cells(frame, inf, col, row_offset)})",
            file=file,
            series=col,
        )
