"""Local time in the day-ahead report: every time it shows is wall-clock time of one named zone.

Inside the job times are naive UTC; the report converts them to the data's time zone (the job
config's ``data.timezone`` for wide CSVs, the reader's ``source_tz`` otherwise) and names the zone
with its UTC offset. Chart axes use local wall-clock time, so a dispatcher reads "17:00" where the
load peaks on the clock on the wall. On the day the clocks go back one local hour occurs twice;
there the axis is laid out in UTC (monotonic) and labelled in local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Tick spacings of the UTC-laid axis on a day with a repeated local hour [h]: the smallest giving
#: at most MAX_TICKS labels.
TICK_HOURS = (1, 2, 3, 6, 12, 24, 48)
MAX_TICKS = 10


@dataclass(frozen=True)
class Clock:
    """Converts the job's naive UTC times to local wall-clock time of ``tz`` (IANA name)."""

    tz: str = "UTC"

    def local(self, times: Any) -> pd.DatetimeIndex:
        """``times`` (naive UTC) as tz-aware local times."""
        t = pd.DatetimeIndex(times)
        t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
        return t.tz_convert(self.tz)

    def label(self, t: Any, fmt: str = "%d %b %H:%M") -> str:
        """One time as ``30 Jun 17:00 EDT`` (``fmt`` is strftime, the zone abbreviation is appended)."""
        if t is None or pd.isna(t):
            return ""
        loc = self.local([t])[0]
        return f"{loc.strftime(fmt)} {loc.tzname()}"

    def hour(self, t: Any) -> str:
        """``17:00 EDT``."""
        return self.label(t, "%H:%M")

    def zone_note(self, times: Any) -> str:
        """``America/New_York (EDT, UTC-04:00)``; both offsets on a day the clocks change."""
        if len(times) == 0:
            return self.tz
        loc = self.local(times)
        seen: dict[str, str] = {}
        for t in (loc[0], loc[-1]):
            off = t.strftime("%z")
            seen.setdefault(str(t.tzname()), f"UTC{off[:3]}:{off[3:]}")
        if self.tz.upper() == "UTC":
            return "UTC"
        return f"{self.tz} (" + "; ".join(f"{k}, {v}" for k, v in seen.items()) + ")"

    def axis(self, times: Any) -> TimeAxis:
        """The x axis of a chart showing ``times`` (the union of its traces' times, naive UTC)."""
        t = pd.DatetimeIndex(times).sort_values().unique()
        wall = self.local(t).tz_localize(None)
        return TimeAxis(self, bool(wall.is_monotonic_increasing and wall.is_unique), t)

    def day_hours(self, times: Any) -> float:
        """Hours covered by the intervals ``times`` (23, 24 or 25 on a local day)."""
        t = pd.DatetimeIndex(times)
        if len(t) < 2:
            return float(len(t))
        return len(t) * (t[1] - t[0]) / pd.Timedelta(hours=1)


@dataclass(frozen=True)
class TimeAxis:
    """x values and axis layout of one chart (plotly), local wall clock where it is monotonic."""

    clock: Clock
    wall: bool
    """True: x is local wall-clock time; False: UTC positions labelled with local times."""
    span: pd.DatetimeIndex

    def x(self, times: Any) -> list[str]:
        """Plotly x values of ``times`` (naive UTC)."""
        if self.wall:
            loc = self.clock.local(times).tz_localize(None)
            return [t.strftime("%Y-%m-%dT%H:%M") for t in loc]
        return [t.strftime("%Y-%m-%dT%H:%M") for t in pd.DatetimeIndex(times)]

    def layout(self) -> dict[str, Any]:
        """The ``xaxis`` settings."""
        if self.wall:
            return {"type": "date", "hoverformat": "%a %d %b %H:%M"}
        span_h = (self.span[-1] - self.span[0]) / pd.Timedelta(hours=1)
        step = next((h for h in TICK_HOURS if span_h / h <= MAX_TICKS), TICK_HOURS[-1])
        ticks = pd.date_range(self.span[0].ceil(f"{step}h"), self.span[-1], freq=f"{step}h")
        return {
            "type": "date",
            "tickvals": self.x(ticks),
            "ticktext": [self.clock.label(t, "%d %b %H:%M") for t in ticks],
            "hoverformat": "%d %b %H:%M UTC",
        }
