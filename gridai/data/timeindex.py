"""Timestamp parsing for the readers: time zones, DST gaps and repeats, interval conventions.

Inside gridai time is naive UTC labelling the **start** of each interval. Input files may instead
use local time with daylight saving time, explicit UTC offsets, or interval-end labels. This
module turns a column of timestamps into the canonical index and rejects what cannot be
converted unambiguously, naming the rows concerned:

* **explicit offsets** (``2024-03-31T03:00+02:00``, ``...Z``) are exact; they are converted to UTC
  and the ``tz`` argument is not needed. A column mixing offset and naive timestamps is rejected.
* **naive local time** (``tz="Europe/Amsterdam"``):

  - spring forward: local times inside the skipped hour do not exist; a file that contains one is
    rejected (the row is named). A file that correctly skips the hour converts to a regular UTC
    index.
  - fall back: the repeated hour appears twice. Repeats are resolved **by order**: the first
    occurrence is summer time (DST), the second standard time. A third occurrence is a duplicate.
* ``interval="end"``: labels are moved back by one step (the resolution) to interval starts.
  ``24:00`` is accepted as the end of a day -- only then: with ``interval="start"`` a ``24:00``
  label is an error naming ``--interval end`` (the end of a day cannot start an interval), and a
  file that merely looks hour-ending (first stamp at 01:00, last at a midnight) gets a warning.
* **numeric dates** ``03/04/2024`` are read day first or month first as the data or the
  ``dayfirst`` option decide; a file where every date reads both ways is refused
  (:mod:`gridai.data.dateorder`). ``date_format`` gives the exact strptime format instead.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from gridai.data.dateorder import resolve_day_month
from gridai.exceptions import GridAIDataError

logger = logging.getLogger(__name__)

OFFSET_RE = r"(?:Z|[+-]\d{2}:?\d{2})$"
# "<date> 24:00" (or T24:00, 24:00:00): the end of that day. Groups: date, separator, seconds.
END_OF_DAY_RE = re.compile(r"^(.*?)([ T])24:00((?::00)?)$")
# Plausible calendar years of energy data; a number parsed as a timestamp falls outside.
YEAR_RANGE = (1900, 2200)
# How many offending rows a message shows.
SHOW = 5


@dataclass(frozen=True)
class ParsedTimes:
    """Result of :func:`parse_timestamps`.

    Attributes
    ----------
    utc:
        Naive UTC timestamps in file order (interval labels as in the file).
    dst_repeats:
        Number of timestamps inside a fall-back hour resolved as standard time (second occurrence).
    explicit_offsets:
        Whether the timestamps carried their own UTC offsets.
    """

    utc: pd.DatetimeIndex
    dst_repeats: int
    explicit_offsets: bool


def validate_tz(tz: str) -> str:
    """Return ``tz`` if it names an IANA time zone (or ``UTC``); otherwise raise ``GridAIDataError``."""
    if tz.upper() == "UTC":
        return "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise GridAIDataError(
            f"unknown time zone {tz!r}; use an IANA name such as 'Europe/Amsterdam' or 'UTC'"
        ) from None
    return tz


def _rows(mask: np.ndarray, row_offset: int) -> list[int]:
    return [int(i) + row_offset for i in np.flatnonzero(mask)[:SHOW]]


def _fmt_rows(mask: np.ndarray, values: pd.Series | np.ndarray, row_offset: int) -> str:
    idx = np.flatnonzero(mask)
    vals = np.asarray(values)
    shown = ", ".join(f"row {int(i) + row_offset}: {vals[i]!r}" for i in idx[:SHOW])
    more = f" (+{len(idx) - SHOW} more)" if len(idx) > SHOW else ""
    return shown + more


def _parse_strings(text: pd.Series, utc: bool, date_format: str | None = None) -> pd.DatetimeIndex:
    """Parse strings with ``date_format``, or trying ISO 8601 first and pandas' format inference second."""
    best: pd.DatetimeIndex | None = None
    for fmt in ("ISO8601", None) if date_format is None else (date_format,):
        try:
            with warnings.catch_warnings():  # "could not infer format": we report unparsed rows ourselves
                warnings.simplefilter("ignore", UserWarning)
                parsed = pd.DatetimeIndex(pd.to_datetime(text, format=fmt, errors="coerce", utc=utc))
        except (ValueError, TypeError, OverflowError):
            continue
        if best is None or np.asarray(parsed.isna()).sum() < np.asarray(best.isna()).sum():
            best = parsed
        if not best.isna().any():
            break
    if best is None:
        return pd.DatetimeIndex(np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]"))
    return best


def parse_timestamps(
    raw: pd.Series,
    *,
    tz: str = "UTC",
    file: str | None = None,
    column: str = "timestamp",
    row_offset: int = 2,
    occurrence: np.ndarray | None = None,
    interval: str | None = None,
    dayfirst: bool | None = None,
    date_format: str | None = None,
) -> ParsedTimes:
    """Convert a column of timestamps (strings or datetimes) to naive UTC.

    Parameters
    ----------
    raw:
        The timestamp column, in file order.
    tz:
        Time zone of naive timestamps (IANA name). Ignored for timestamps with explicit offsets.
    file, column:
        Named in error messages.
    row_offset:
        Added to the 0-based position to give the file's row number (2 for a CSV with one header line).
    occurrence:
        0 for the first time a local timestamp appears (within its series), 1 for the second, ...;
        decides fall-back repeats. Default: computed over the whole column.
    interval:
        ``"start"`` or ``"end"``: what the labels are (``24:00`` is refused for ``"start"``, and
        hour-ending-looking labels get a warning). None: points in time (issue times), ``24:00``
        read as the next midnight.
    dayfirst, date_format:
        Order of numeric dates (None: from the data, see :mod:`gridai.data.dateorder`), or the
        exact strptime format (which replaces inference and ``dayfirst``).

    Raises
    ------
    GridAIDataError
        Missing or unparseable timestamps, a mix of offset and naive timestamps, an unknown time
        zone, local times that do not exist (DST spring-forward), ambiguous day/month order, or
        ``24:00`` labels read as interval starts. The message names the rows.
    """
    tz = validate_tz(tz)
    n = len(raw)
    explicit = False
    end_of_day = np.zeros(n, dtype=bool)
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        explicit = True
        parsed = pd.DatetimeIndex(raw).tz_convert("UTC")
        missing = np.asarray(parsed.isna())
        if missing.any():
            raise GridAIDataError(
                f"missing timestamps in column {column!r} ({_fmt_rows(missing, raw, row_offset)})",
                file=file,
            )
        local = parsed.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(raw.dtype):
        local = pd.DatetimeIndex(raw)
        missing = np.asarray(local.isna())
        if missing.any():
            raise GridAIDataError(
                f"missing timestamps in column {column!r} ({_fmt_rows(missing, raw, row_offset)})",
                file=file,
            )
    else:
        text = raw.astype("string").str.strip()
        missing = np.asarray(text.isna() | (text == ""))
        if missing.any():
            raise GridAIDataError(
                f"missing timestamps in column {column!r} at rows {_rows(missing, row_offset)}",
                file=file,
            )
        has_offset = np.asarray(text.str.contains(OFFSET_RE, regex=True))
        if has_offset.any() and not has_offset.all():
            raise GridAIDataError(
                f"mixed time zones in column {column!r}: some timestamps carry a UTC offset "
                f"({_fmt_rows(has_offset, text, row_offset)}) and some do not "
                f"({_fmt_rows(~has_offset, text, row_offset)}); write all in one convention",
                file=file,
            )
        explicit = bool(has_offset.all())
        if date_format is None:
            text = resolve_day_month(text, dayfirst=dayfirst, file=file, column=column, row_offset=row_offset)
        end_of_day = text.str.match(END_OF_DAY_RE).to_numpy(dtype=bool)
        if end_of_day.any():
            if interval == "start":
                raise GridAIDataError(
                    f"'24:00' timestamps in column {column!r} ({_fmt_rows(end_of_day, raw, row_offset)}): "
                    "24:00 is the end of a day, so the file labels interval ends (hour-ending), "
                    "not starts; read it with --interval end (reader option interval: end)",
                    file=file,
                )
            text = text.str.replace(END_OF_DAY_RE, r"\1\g<2>00:00\3", regex=True)
        parsed = _parse_strings(text, utc=explicit, date_format=date_format)
        bad = np.asarray(parsed.isna())
        if bad.any():
            expected = (
                f"they do not match date_format {date_format!r}"
                if date_format is not None
                else "expected e.g. '2024-01-31 13:00' or ISO 8601"
            )
            raise GridAIDataError(
                f"unparseable timestamps in column {column!r} ({_fmt_rows(bad, raw, row_offset)}); "
                + expected,
                file=file,
            )
        if explicit:
            parsed = parsed.tz_convert("UTC").tz_localize(None)
        if end_of_day.any():
            parsed = parsed + pd.to_timedelta(end_of_day.astype("int64"), unit="D")
        local = pd.DatetimeIndex(parsed)
    years = np.asarray(local.year)
    implausible = (years < YEAR_RANGE[0]) | (years > YEAR_RANGE[1])
    if implausible.any():
        raise GridAIDataError(
            f"implausible timestamps in column {column!r} ({_fmt_rows(implausible, raw, row_offset)}); "
            f"years must lie in {YEAR_RANGE[0]}..{YEAR_RANGE[1]}",
            file=file,
        )
    if interval == "start" and not explicit:
        warn_if_hour_ending(local, file=file, column=column)
    if explicit or tz == "UTC":
        return ParsedTimes(
            utc=pd.DatetimeIndex(local.values.astype("datetime64[ns]")),
            dst_repeats=0,
            explicit_offsets=explicit,
        )
    if occurrence is None:
        occurrence = np.asarray(pd.Series(local).groupby(local).cumcount())
    first = np.asarray(occurrence) == 0
    aware = local.tz_localize(tz, ambiguous=first, nonexistent="NaT")
    nonexistent = np.asarray(aware.isna())
    if nonexistent.any():
        raise GridAIDataError(
            f"local times that do not exist in {tz} (skipped when clocks spring forward for DST): "
            f"{_fmt_rows(nonexistent, raw, row_offset)}; a correct local-time file skips that hour",
            file=file,
            timestamps=[str(t) for t in local[nonexistent][:SHOW]],
        )
    # timestamps that fall in a repeated (fall-back) hour and were resolved to standard time
    as_dst = local.tz_localize(tz, ambiguous=np.ones(n, dtype=bool), nonexistent="NaT")
    repeats = int(np.sum(np.asarray(as_dst != aware)))
    utc = aware.tz_convert("UTC").tz_localize(None)
    return ParsedTimes(
        utc=pd.DatetimeIndex(utc.values.astype("datetime64[ns]")), dst_repeats=repeats, explicit_offsets=False
    )


def warn_if_hour_ending(local: pd.DatetimeIndex, *, file: str | None, column: str) -> bool:
    """Warn when interval-start labels look like interval ends; return whether they do.

    Hour-ending files label a day's intervals 01:00 .. 24:00 (written 24:00 or next-day 00:00):
    the earliest stamp is one step after a midnight and the latest is a midnight. Read as
    starts, every value lands one step late. Sub-daily steps only.
    """
    if len(local) < 2:
        return False
    values = np.unique(np.asarray(local.values))
    diffs = pd.Series(values[1:] - values[:-1])
    if diffs.empty:
        return False
    step = pd.Timedelta(diffs.mode().iloc[0])
    if step >= pd.Timedelta(days=1):
        return False
    first, last = pd.Timestamp(values[0]), pd.Timestamp(values[-1])
    if first - first.normalize() != step or last != last.normalize():
        return False
    where = f" of {file}" if file else ""
    logger.warning(
        "timestamps in column %r%s look hour-ending (interval-end labels): the first is %s and the "
        "last %s, a midnight closing the last day; they are read as interval starts. If they label "
        "interval ends, pass --interval end (reader option interval: end)",
        column,
        where,
        first.strftime("%Y-%m-%d %H:%M"),
        last.strftime("%Y-%m-%d %H:%M"),
    )
    return True


def check_order(
    utc: pd.DatetimeIndex,
    *,
    file: str | None,
    column: str,
    tz: str,
    row_offset: int = 2,
    raw: pd.Series | None = None,
) -> None:
    """Reject duplicated or decreasing timestamps (after conversion to UTC), naming the rows.

    Raises
    ------
    GridAIDataError
        Duplicated timestamps (with a hint when the file may be local time with a fall-back
        repeat) or timestamps that go backwards.
    """
    shown = np.asarray(raw.astype(str)) if raw is not None else np.asarray(utc.astype(str))
    dup = np.asarray(utc.duplicated(keep="first"))
    if dup.any():
        hint = ""
        if tz == "UTC":
            hint = (
                "; if the file is in local time, give its time zone (tz=..., --tz) so that the hour "
                "repeated when clocks fall back is resolved"
            )
        raise GridAIDataError(
            f"duplicated timestamps in column {column!r} ({int(dup.sum())} rows, e.g. "
            f"{_fmt_rows(dup, shown, row_offset)}){hint}",
            file=file,
            timestamps=[str(t) for t in utc[dup][:SHOW]],
        )
    values = utc.values
    back = np.zeros(len(utc), dtype=bool)
    back[1:] = values[1:] < values[:-1]
    if back.any():
        i = int(np.flatnonzero(back)[0])
        raise GridAIDataError(
            f"timestamps in column {column!r} are not in increasing order: row {i + row_offset} "
            f"({shown[i]!r}) comes after row {i - 1 + row_offset} ({shown[i - 1]!r}) "
            f"({int(back.sum())} such places); sort the file by time",
            file=file,
            timestamps=[str(utc[i])],
        )


def step_of(utc: pd.DatetimeIndex, resolution: str | None) -> pd.Timedelta:
    """The interval length: ``resolution`` if given, else the most common step of ``utc``."""
    if resolution is not None:
        try:
            return pd.Timedelta(pd.tseries.frequencies.to_offset(resolution))  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise GridAIDataError(
                f"unknown resolution {resolution!r}; use a pandas offset alias like '15min' or '1h'"
            ) from None
    if len(utc) < 2:
        raise GridAIDataError("cannot infer the resolution from fewer than two timestamps; pass resolution")
    diffs = pd.Series(utc[1:] - utc[:-1])
    diffs = diffs[diffs > pd.Timedelta(0)]
    if diffs.empty:
        raise GridAIDataError("cannot infer the resolution: all timestamps are equal; pass resolution")
    return pd.Timedelta(diffs.mode().iloc[0])


def to_interval_start(utc: pd.DatetimeIndex, interval: str, step: pd.Timedelta) -> pd.DatetimeIndex:
    """Move interval-end labels back by one ``step``; interval-start labels are returned unchanged."""
    if interval not in ("start", "end"):
        raise GridAIDataError(f"interval must be 'start' or 'end', got {interval!r}")
    return utc - step if interval == "end" else utc
