"""Calendar features: day of week, seasonality, public and user holidays, bridge days."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

import holidays as holidays_pkg
import numpy as np
import pandas as pd

from gridai.exceptions import GridAIConfigError

logger = logging.getLogger(__name__)

#: Number of columns of :func:`day_calendar_features`.
CALENDAR_FEATURES = 14


def holiday_dates(
    years: Iterable[int],
    *,
    country: str | None = "US",
    subdivision: str | None = None,
    extra: Sequence[dt.date] = (),
) -> set[dt.date]:
    """Public holidays of ``country``/``subdivision`` in ``years`` plus the user's ``extra`` dates.

    Parameters
    ----------
    years:
        Calendar years to cover.
    country, subdivision:
        Codes understood by the `holidays` package (``"US"``, ``"DE"``; ``subdivision="NC"``).
        ``country=None`` gives only ``extra``.
    extra:
        User holiday dates (e.g. the GEFCom2012 ``Holiday_List``).

    Raises
    ------
    GridAIConfigError
        The country or subdivision is unknown to the `holidays` package.
    """
    out = {pd.Timestamp(d).date() for d in extra}
    if country is None:
        return out
    try:
        cal = holidays_pkg.country_holidays(country, subdiv=subdivision, years=sorted(set(years)))
    except NotImplementedError as err:
        raise GridAIConfigError(
            f"unknown holiday country/subdivision {country!r}/{subdivision!r}: {err}",
            keys=["holiday_country", "holiday_subdivision"],
        ) from None
    out.update(cal.keys())
    return out


def bridge_days(holidays: set[dt.date]) -> set[dt.date]:
    """Bridge days: a Monday before a Tuesday holiday or a Friday after a Thursday holiday."""
    out: set[dt.date] = set()
    for h in holidays:
        wd = h.weekday()
        if wd == 1:
            out.add(h - dt.timedelta(days=1))
        elif wd == 3:
            out.add(h + dt.timedelta(days=1))
    return out - holidays


def day_calendar_features(days: Sequence[dt.date], holidays: set[dt.date]) -> np.ndarray:
    """Calendar features of target days, ``(n_days, 14)``.

    Columns: day of week one-hot (7, Monday first), sin/cos of day of year (annual cycle),
    holiday, bridge day, holiday on the previous day, holiday on the next day, trend
    (years since 2000 / 10), and a weekend-or-holiday flag.
    """
    bridges = bridge_days(holidays)
    one = dt.timedelta(days=1)
    out = np.zeros((len(days), CALENDAR_FEATURES), dtype=np.float64)
    for i, d in enumerate(days):
        out[i, d.weekday()] = 1.0
        angle = 2 * np.pi * (d.timetuple().tm_yday - 1) / 365.25
        out[i, 7] = np.sin(angle)
        out[i, 8] = np.cos(angle)
        out[i, 9] = float(d in holidays)
        out[i, 10] = float(d in bridges)
        out[i, 11] = float((d - one) in holidays)
        out[i, 12] = float((d + one) in holidays)
        out[i, 13] = float(d.weekday() >= 5 or d in holidays)
    return out


def interval_of_day(local_times: pd.DatetimeIndex, steps_per_day: int) -> np.ndarray:
    """Index of each interval within its local day, ``0 .. steps_per_day - 1``."""
    minutes = local_times.hour * 60 + local_times.minute
    step = 24 * 60 // steps_per_day
    return np.asarray(minutes // step, dtype=np.int64)
