"""Weather features: station combination, heating/cooling degree terms, daily statistics.

Temperatures are in degrees Celsius throughout (``temp_c``).
"""

from __future__ import annotations

import numpy as np

#: Base temperature of heating degree hours [degC] (18 degC ~ 65 degF, the usual HDD base).
HEATING_BASE_C = 18.0
#: Base temperature of cooling degree hours [degC] (~ 72 degF, a common CDD base for utilities).
COOLING_BASE_C = 22.0


def station_mean(temp_c: np.ndarray) -> np.ndarray:
    """Mean over the last (station) axis, ignoring NaN stations [degC]."""
    with np.errstate(invalid="ignore"):
        count = np.sum(np.isfinite(temp_c), axis=-1)
        total = np.nansum(temp_c, axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def fill_stations(temp_c: np.ndarray) -> np.ndarray:
    """Fill NaN stations with the mean of the other stations at the same time [degC]."""
    mean = station_mean(temp_c)
    return np.where(np.isfinite(temp_c), temp_c, mean[..., None])


def degree_hours(temp_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heating and cooling degree hours ``(max(0, 18 - T), max(0, T - 22))`` [K]."""
    return np.maximum(0.0, HEATING_BASE_C - temp_c), np.maximum(0.0, temp_c - COOLING_BASE_C)


def day_weather_features(day_c: np.ndarray, prev_c: np.ndarray) -> np.ndarray:
    """Weather features of target days.

    Parameters
    ----------
    day_c:
        Temperature of the target day, ``(n_days, steps_per_day, n_stations)`` [degC], no NaN.
    prev_c:
        Temperature of the previous day, same shape [degC], no NaN.

    Returns
    -------
    numpy.ndarray
        ``(n_days, F)``: per-station temperature of every interval of the day, station-mean
        temperature of every interval of the previous day, per-station daily mean/max/min of
        the day and the previous-day mean, station-mean heating/cooling degree hours of each
        interval, and the rolling 3-interval max of the station mean (afternoon peaks).
    """
    n_days = day_c.shape[0]
    mean_day = station_mean(day_c)  # (d, s)
    mean_prev = station_mean(prev_c)
    hdh, cdh = degree_hours(mean_day)
    padded = np.concatenate([mean_prev[:, -2:], mean_day], axis=1)
    roll_max = np.max(np.stack([padded[:, k : k + mean_day.shape[1]] for k in range(3)]), axis=0)
    parts = [
        day_c.reshape(n_days, -1),
        mean_prev,
        day_c.mean(axis=1),
        day_c.max(axis=1),
        day_c.min(axis=1),
        prev_c.mean(axis=1),
        hdh,
        cdh,
        roll_max,
    ]
    return np.concatenate(parts, axis=1)
