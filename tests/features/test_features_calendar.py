"""Calendar, weather and load-history features."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from gridai.exceptions import GridAIConfigError
from gridai.features.calendar import bridge_days, day_calendar_features, holiday_dates
from gridai.features.lags import fill_window_gaps, first_unobserved_index, history_windows
from gridai.features.weather import day_weather_features, degree_hours, fill_stations


def test_holidays_country_subdivision_and_extra() -> None:
    us = holiday_dates([2007], country="US")
    assert dt.date(2007, 7, 4) in us and dt.date(2007, 12, 25) in us
    extra = holiday_dates([2007], country=None, extra=[dt.date(2007, 3, 3)])
    assert extra == {dt.date(2007, 3, 3)}
    with pytest.raises(GridAIConfigError, match="unknown holiday country"):
        holiday_dates([2007], country="XX")


def test_bridge_days() -> None:
    thursday = dt.date(2007, 11, 22)  # Thanksgiving
    tuesday = dt.date(2007, 12, 25)
    assert bridge_days({thursday, tuesday}) == {dt.date(2007, 11, 23), dt.date(2007, 12, 24)}


def test_day_calendar_features() -> None:
    days = [dt.date(2007, 11, 22), dt.date(2007, 11, 23), dt.date(2007, 11, 24)]
    f = day_calendar_features(days, {dt.date(2007, 11, 22)})
    assert f.shape == (3, 14)
    np.testing.assert_array_equal(f[:, :7].argmax(axis=1), [3, 4, 5])
    np.testing.assert_array_equal(f[:, 9], [1, 0, 0])  # holiday
    np.testing.assert_array_equal(f[:, 10], [0, 1, 0])  # bridge
    np.testing.assert_array_equal(f[:, 11], [0, 1, 0])  # day after a holiday
    np.testing.assert_array_equal(f[:, 13], [1, 0, 1])  # weekend or holiday


def test_weather_features() -> None:
    hdh, cdh = degree_hours(np.array([10.0, 20.0, 30.0]))
    np.testing.assert_allclose(hdh, [8, 0, 0])
    np.testing.assert_allclose(cdh, [0, 0, 8])
    filled = fill_stations(np.array([[1.0, np.nan, 3.0]]))
    np.testing.assert_allclose(filled, [[1.0, 2.0, 3.0]])
    day = np.full((2, 24, 3), 20.0)
    prev = np.full((2, 24, 3), 10.0)
    f = day_weather_features(day, prev)
    assert f.shape[0] == 2 and np.isfinite(f).all()
    assert f.shape[1] == 24 * 3 + 24 + 4 * 3 + 3 * 24


def test_history_windows_end_at_issue_time() -> None:
    t0 = pd.Timestamp("2020-01-01")
    step = pd.Timedelta("1h")
    # issue at 10:00 on Jan 3: intervals up to the one starting 09:00 are observed
    end = first_unobserved_index(
        np.array([np.datetime64("2020-01-03T10:00"), np.datetime64("2020-01-03T10:30")]), t0, step
    )
    np.testing.assert_array_equal(end, [58, 58])
    load = np.arange(100, dtype=float)[:, None]
    w = history_windows(load, end, 5)
    np.testing.assert_array_equal(w[0, :, 0], [53, 54, 55, 56, 57])
    early = history_windows(load, np.array([2]), 4)
    assert np.isnan(early[0, :2, 0]).all() and list(early[0, 2:, 0]) == [0, 1]
    gaps = np.array([[1.0, np.nan, 3.0, 4.0]])[..., None]
    np.testing.assert_allclose(fill_window_gaps(gaps, 2)[0, :, 0], [1.0, 4.0, 3.0, 4.0])
