"""How to interpret a user's data file: one typed options object for every reader.

:class:`ReaderOptions` is built once at the edge (the CLI's ``--tz``, ``--interval``, ...
options, a job config's ``options:`` section) and passed unchanged through
:func:`gridai.data.sources.read_source` to the readers of :mod:`gridai.data.readers`; no reader
takes these settings as loose keyword arguments.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from gridai.config import StrictModel


class ReaderOptions(StrictModel):
    """How to read a user file (time zone, interval convention, units, resolution, layout).

    The load readers use ``units``, the weather readers ``temperature_units``; ``format`` and
    ``include_solution`` are read by :func:`gridai.data.sources.read_source` only.
    """

    tz: str = Field(
        default="UTC",
        description="Time zone of naive timestamps (IANA name). DST repeats are resolved by order, "
        "nonexistent local times rejected (see gridai.data.timeindex).",
    )
    interval: Literal["start", "end"] = Field(
        default="start",
        description="Whether a timestamp labels the start or the end of its interval. '24:00' "
        "labels are read only with 'end' (a day's end cannot start an interval).",
    )
    dayfirst: bool | None = Field(
        default=None,
        description="Order of numeric dates such as 03/04/2024: true = day first (dd/mm), false = "
        "month first (mm/dd). None: inferred from the file (a first field above 12 is a day, a second "
        "field above 12 a day); a file where every date reads both ways is refused.",
    )
    date_format: str | None = Field(
        default=None,
        description="Exact strptime format of the timestamps, e.g. '%d/%m/%Y %H:%M'; replaces "
        "format inference and dayfirst.",
    )
    units: str = Field(
        default="kW",
        description="Load units in the file: power W, kW, MW, or energy per interval Wh, kWh, MWh "
        "(converted to mean power [kW or MW] over the interval).",
    )
    temperature_units: Literal["degC", "degF"] = Field(
        default="degC", description="Temperature units in the file (converted to degC)."
    )
    resolution: str | None = Field(
        default=None,
        description="Target resolution, e.g. '15min' or '1h'; data at another step are resampled "
        "energy-correctly. None: the file's most common step.",
    )
    format: Literal["auto", "wide", "long"] = Field(default="auto", description="CSV layout.")
    include_solution: bool = Field(
        default=True, description="GEFCom2012: fill the blank backcast weeks from Load_solution."
    )
