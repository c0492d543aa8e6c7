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
    check_last_row(path, frame, header=header, sep=sep, thousands=thousands, text_columns=[ts])
    return frame, ts


#: Bytes read from the end of a file to judge its last line (a longer last line is not judged).
TAIL_BYTES = 1 << 16
#: A last value this many times below the column's median (and below its smallest value) is a cut
#: number: "143" for "143512" is 1000x smaller, a complete value is rarely 10x below every other.
TRUNCATED_RATIO = 10.0


def _tail(path: Path) -> bytes:
    """The last ``TAIL_BYTES`` bytes of the (decompressed) file."""
    if path.suffix == ".gz":
        keep = b""
        with gzip.open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                keep = (keep + chunk)[-TAIL_BYTES:]
        return keep
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - TAIL_BYTES))
        return fh.read()


def _unfinished_last_line(path: Path) -> str | None:
    """The last line of ``path`` if the file does not end with a newline (else None)."""
    try:
        tail = _tail(path)
    except (OSError, EOFError, zlib.error):
        return None
    if not tail or tail.endswith((b"\n", b"\r")):
        return None
    cut = max(tail.rfind(b"\n"), tail.rfind(b"\r"))
    if cut < 0 and len(tail) == TAIL_BYTES:
        return None  # the last line is longer than what was read: not judged
    return tail[cut + 1 :].decode("utf-8", errors="replace")


def _suspicious_value(
    frame: pd.DataFrame, col: str, thousands: str | None, same: np.ndarray | None
) -> tuple[str, float] | None:
    """(cell, typical) when the last cell of numeric ``col`` is implausibly small against the
    rest of the column (or the rows of ``same``), else None."""
    text = frame[col].astype(str).str.strip()
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
    last = values[-1]
    rest = np.abs(values[:-1] if same is None else values[:-1][same[:-1]])
    rest = rest[np.isfinite(rest) & (rest > 0)]
    if not np.isfinite(last) or last == 0 or len(rest) == 0:
        return None
    typical = float(np.median(rest))
    if abs(last) * TRUNCATED_RATIO <= typical and abs(last) < rest.min():
        return str(frame[col].iloc[-1]).strip(), typical
    return None


def check_last_row(
    path: Path,
    frame: pd.DataFrame,
    *,
    header: list[str],
    sep: str = ",",
    thousands: str | None = None,
    text_columns: list[str] | None = None,
    group_column: str | None = None,
) -> None:
    """Refuse a file cut in the middle of its last line.

    A copy interrupted mid-line leaves a last row without its newline and with fewer fields, an
    empty last field, or a number missing its last digits ("143" of "143512"). A last row is
    judged truncated when the file does not end with a newline **and** it is short of fields,
    its last field is empty, or its last field is a number at least ``TRUNCATED_RATIO`` times
    below the column's median and below its smallest other value (with ``group_column``: the
    values of the same group, e.g. the same series of a long table; a group seen only in the
    last row is suspicious too). A complete last row without a newline reads as usual.

    Raises
    ------
    GridAIDataError
        The last row looks truncated; the message names the file, the row and why.
    """
    if len(frame) == 0:
        return
    names = [h.strip() for h in header]
    while names and not names[-1]:
        names.pop()  # trailing commas in the header: no column to fill
    if not names or names[-1] not in frame.columns:
        return
    last_col = names[-1]
    text_columns = text_columns or []
    cell = frame[last_col].iloc[-1]
    empty = cell is None or (isinstance(cell, float) and np.isnan(cell)) or str(cell).strip() == ""
    same = None
    if group_column is not None and group_column in frame.columns:
        group = frame[group_column].astype(str).str.strip().to_numpy()
        same = group == group[-1]
    suspect: tuple[str, float] | None = None
    if not empty and last_col not in text_columns:
        suspect = _suspicious_value(frame, last_col, thousands, same)
    new_group = same is not None and last_col == group_column and int(same.sum()) == 1 and len(frame) > 1
    if not (empty or suspect or new_group):
        return
    line = _unfinished_last_line(path)
    if line is None:
        return
    fields = next(csv.reader([line], delimiter=sep), [])
    row = len(frame) + 1
    if len(fields) < len(names):
        why = f"it has {len(fields)} of the {len(names)} fields of the header"
    elif empty:
        why = f"its last field ({last_col!r}) is empty"
    elif suspect is not None:
        why = (
            f"its last value, {suspect[0]!r} in column {last_col!r}, is far below the column's "
            f"typical {suspect[1]:,.6g}: the rest of the number is missing"
        )
    else:
        why = f"its {last_col!r}, {str(cell).strip()!r}, appears in no other row"
    raise GridAIDataError(
        f"{path} looks truncated: its last line (row {row}: {line[:80]!r}) does not end with a "
        f"newline and {why}; the file was probably cut mid-line (copy it again, or delete the "
        "partial last row)",
        file=str(path),
    )


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
