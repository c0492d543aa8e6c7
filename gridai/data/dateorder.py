"""Day-first or month-first: reading numeric dates such as ``03/04/2024`` without guessing.

``03/04/2024`` is 3 April read day first (``dd/mm``, most of the world) and 4 March read month
first (``mm/dd``, the US). pandas' inference silently takes month first; a file whose days are all
<= 12 (the first twelve days of a month, or a short file) is then misread. Here the order comes
from the data or from the user, never from a default:

* a first field above 12 somewhere can only be a day: the whole column is day first;
* a second field above 12 somewhere can only be a day: the whole column is month first;
* a column with both is inconsistent and refused, naming a row of each;
* a column with neither, where some date reads differently the two ways, is **ambiguous** and
  refused unless ``dayfirst`` is given; the message names the column, example rows, both
  readings and the option that decides (``--dayfirst`` / ``--monthfirst``, reader option
  ``dayfirst: true|false``, or an exact ``--date-format``).

Dates that start with a four-digit year (ISO ``2024-04-03``, ``2024/04/03``) are never ambiguous
and pass through unchanged. Matching dates are rewritten as ISO ``YYYY-MM-DD`` (the time part
kept) for the timestamp parser; two-digit years follow strptime's ``%y`` (69-99 -> 19xx, 00-68 -> 20xx).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridai.exceptions import GridAIDataError

# d/m/y or m/d/y with one separator (/ . -), a 2- or 4-digit year last, then an optional time part.
NUMERIC_DATE_RE = r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})((?:[ T].*)?)$"
# strptime's %y pivot: two-digit years from 69 are 19xx, below 69 are 20xx.
Y2_PIVOT = 69
# Example rows a message shows.
SHOW = 3
RESOLVE = (
    "say which with --dayfirst (dd/mm) or --monthfirst (mm/dd) (reader option dayfirst: true or "
    "false), or give the exact format with --date-format (reader option date_format)"
)


def _example_format(sep: str, year: str, rest: str) -> str:
    time = " %H:%M" if pd.Series([rest]).str.fullmatch(r" \d{1,2}:\d{2}").iloc[0] else ""
    return f"%d{sep}%m{sep}{'%Y' if len(year) == 4 else '%y'}{time}"


def resolve_day_month(
    text: pd.Series,
    *,
    dayfirst: bool | None,
    file: str | None,
    column: str,
    row_offset: int,
) -> pd.Series:
    """Rewrite numeric ``d/m/y`` or ``m/d/y`` dates in ``text`` as ISO dates, in a known order.

    Parameters
    ----------
    text:
        Stripped timestamp strings, in file order.
    dayfirst:
        True: day first; False: month first; None: inferred (see the module docstring).
    file, column, row_offset:
        Named in messages (``row_offset`` turns a 0-based position into the file's row number).

    Raises
    ------
    GridAIDataError
        Every date reads both ways and ``dayfirst`` is None (ambiguous); the column holds dates
        that can only be day first and others that can only be month first; or ``dayfirst``
        contradicts a date of the file.
    """
    parts = text.str.extract(NUMERIC_DATE_RE)
    hit = np.asarray(parts[0].notna())
    if not hit.any():
        return text
    pos = np.flatnonzero(hit)
    first = parts[0].iloc[pos].astype(int).to_numpy()
    second = parts[2].iloc[pos].astype(int).to_numpy()
    raw = text.iloc[pos].to_numpy(dtype=object)
    only_day_first = (first > 12) & (second <= 12)
    only_month_first = (second > 12) & (first <= 12)

    def rows(mask: np.ndarray) -> str:
        return ", ".join(f"row {int(pos[i]) + row_offset}: {raw[i]!r}" for i in np.flatnonzero(mask)[:SHOW])

    where = f" of {file}" if file else ""
    if only_day_first.any() and only_month_first.any():
        raise GridAIDataError(
            f"inconsistent date order in column {column!r}{where}: some dates can only be day first "
            f"(dd/mm: {rows(only_day_first)}) and others only month first (mm/dd: "
            f"{rows(only_month_first)}); write all dates in one order",
            file=file,
        )
    if dayfirst is None:
        if only_day_first.any():
            dayfirst = True
        elif only_month_first.any():
            dayfirst = False
        else:
            differ = first != second
            if differ.any():
                i = int(np.flatnonzero(differ)[0])
                year = parts[3].iloc[pos[i]]
                yyyy = _full_year(np.array([year], dtype=object))[0]
                as_dm = f"{yyyy:04d}-{second[i]:02d}-{first[i]:02d}"
                as_md = f"{yyyy:04d}-{first[i]:02d}-{second[i]:02d}"
                fmt = _example_format(str(parts[1].iloc[pos[i]]), str(year), str(parts[4].iloc[pos[i]]))
                others = differ.copy()
                others[i] = False
                also = f" (also {rows(others)})" if others.any() else ""
                raise GridAIDataError(
                    f"ambiguous dates in column {column!r}{where}: no day or month field is above 12, "
                    f"so every date reads two ways, e.g. row {int(pos[i]) + row_offset}: {raw[i]!r} is "
                    f"{as_dm} read day first (dd/mm) or {as_md} read month first (mm/dd){also}; "
                    f"{RESOLVE}, e.g. --date-format '{fmt}'",
                    file=file,
                )
            dayfirst = True  # every date has day == month: both readings agree
    else:
        contradict = only_month_first if dayfirst else only_day_first
        if contradict.any():
            given, other = ("--dayfirst", "month first") if dayfirst else ("--monthfirst", "day first")
            raise GridAIDataError(
                f"dates in column {column!r}{where} contradict {given} (reader option dayfirst: "
                f"{str(dayfirst).lower()}): {rows(contradict)} can only be read {other}; check the "
                "option or the file",
                file=file,
            )
    day, month = (first, second) if dayfirst else (second, first)
    years = _full_year(parts[3].iloc[pos].to_numpy(dtype=object))
    iso = [
        f"{y:04d}-{m:02d}-{d:02d}{rest}"
        for y, m, d, rest in zip(years, month, day, parts[4].iloc[pos].fillna(""), strict=True)
    ]
    out = text.copy()
    out.iloc[pos] = iso
    return out


def _full_year(years: np.ndarray) -> np.ndarray:
    y = np.array([int(v) for v in years], dtype=np.int64)
    short = np.array([len(str(v)) == 2 for v in years], dtype=bool)
    return np.where(short, np.where(y >= Y2_PIVOT, 1900 + y, 2000 + y), y)
