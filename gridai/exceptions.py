"""One error hierarchy for gridai, with documented process exit codes.

Every error carries its details as fields (file, series, timestamps, parameter) so
that callers and the CLI can report them without parsing messages.

Exit codes (documented in the README):

====  ==========================================================
code  meaning
====  ==========================================================
0     ok
1     finished, but with fallbacks (substituted forecast, idle schedule, ...)
2     bad input or configuration (nothing was written)
3     no feasible dispatch / restoration plan
4     internal error
5     an external service (MLflow tracking server, Dask scheduler) is unreachable
6     another run for the same output holds its lock (nothing was done; retry later)
143   terminated by SIGTERM (recorded as a failed run; nothing new published)
====  ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes of the ``gridai`` command."""

    OK = 0
    FALLBACK = 1
    BAD_INPUT = 2
    INFEASIBLE = 3
    INTERNAL = 4
    UNREACHABLE = 5
    LOCKED = 6
    TERMINATED = 143


class GridAIError(Exception):
    """Base class of every gridai error; ``exit_code`` maps it to the CLI."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = {k: v for k, v in details.items() if v is not None}

    def __str__(self) -> str:
        return self.message


class GridAIConfigError(GridAIError):
    """A configuration file or parameter is wrong (unknown key, wrong type, bad value)."""

    exit_code = ExitCode.BAD_INPUT


class GridAIDataError(GridAIError):
    """Input data is malformed or fails a strict quality gate.

    Parameters
    ----------
    message:
        Plain-words description of what is wrong and what would be right.
    file, series, timestamps:
        Where the problem is. ``timestamps`` are shown (first few) in the message.
    """

    exit_code = ExitCode.BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        series: str | Sequence[str] | None = None,
        timestamps: Sequence[Any] | None = None,
        **details: Any,
    ) -> None:
        parts = [message]
        if file is not None:
            parts.append(f"file: {file}")
        if series is not None:
            names = [series] if isinstance(series, str) else list(series)
            parts.append("series: " + ", ".join(map(str, names[:10])) + (" ..." if len(names) > 10 else ""))
        if timestamps is not None and len(timestamps) > 0:
            ts = [str(t) for t in list(timestamps)[:5]]
            more = f" (+{len(timestamps) - 5} more)" if len(timestamps) > 5 else ""
            parts.append("timestamps: " + ", ".join(ts) + more)
        super().__init__(
            "; ".join(parts),
            file=file,
            series=series,
            timestamps=list(timestamps) if timestamps is not None else None,
            **details,
        )


class GridAIModelError(GridAIError):
    """A model cannot be found, loaded or applied (missing URI, corrupt artifact, unknown series)."""

    exit_code = ExitCode.BAD_INPUT


class GridAIInfeasibleError(GridAIError):
    """An optimisation problem has no feasible solution; ``explanation`` says why in plain words."""

    exit_code = ExitCode.INFEASIBLE


class GridAIUnreachableError(GridAIError):
    """An external service (tracking server, Dask scheduler) cannot be reached."""

    exit_code = ExitCode.UNREACHABLE


@dataclass(frozen=True)
class Finding:
    """One structured finding of a check (data quality, input consistency).

    Attributes
    ----------
    kind:
        Machine-readable kind, e.g. ``"gap"``, ``"duplicate_timestamp"``, ``"level_shift"``.
    severity:
        ``"info"``, ``"warning"`` or ``"error"``.
    message:
        Plain-words description.
    series:
        The series or station concerned (``None`` for the whole dataset).
    start, end:
        Time span concerned, as ISO strings (``None`` when not time-bound).
    count:
        Number of points concerned.
    """

    kind: str
    severity: str
    message: str
    series: str | None = None
    start: str | None = None
    end: str | None = None
    count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "series": self.series,
            "start": self.start,
            "end": self.end,
            "count": self.count,
        }


class GridAITerminatedError(GridAIError):
    """The process was asked to stop (SIGTERM): the run is recorded as failed, nothing is published."""

    exit_code = ExitCode.TERMINATED
