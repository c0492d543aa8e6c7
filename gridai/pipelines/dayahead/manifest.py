"""The run manifest (``run.json``): what a scheduled run read, used, did and produced.

``run.json`` is written for every run, also a failed one, so that an operator never has to
guess. Its keys:

``job``, ``date``, ``run_id``, ``gridai_version``, ``started_at``, ``finished_at``
    Identity of the run (times are UTC ISO strings).
``status``, ``exit_code``
    ``ok`` (0), ``fallback`` (1), ``bad_input`` (2), ``infeasible`` (3), ``failed`` (4).
``inputs``
    Every input file with its size and SHA-256 digest, plus the config digest (:class:`InputsRecord`).
``model``
    The model URI asked for, the one used, its version, and ``substituted`` with the reason
    (:class:`ModelRecord`).
``weather``
    Which weather source covered which hours: observed up to the issue time, then the weather
    forecast file's issues (:class:`WeatherRecord`).
``feeders``
    Per feeder: solver status, objective, fallback used, timings (:class:`FeederRecord`).
``fallbacks``, ``warnings``
    Every fallback (:class:`Fallback`: ``{"step", "kind", "feeder", "reason"}``, ``kind`` a
    :class:`FallbackKind`) and warning of the run.
``steps``
    Seconds and status per step (data, forecast, dispatch, health, report, write, tracking).
``tracking``
    Where the run was logged (``logged``), or why not (``unreachable``, ``disabled``, ``error``).
``outputs``
    SHA-256 digest of every published file (``run.json`` itself excluded).
``error``
    Type and message of the error that ended a failed run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Literal, TypedDict

from gridai import __version__
from gridai.exceptions import ExitCode
from gridai.outputs import write_text_atomic

logger = logging.getLogger(__name__)

#: Manifest keys that differ between two runs of the same day with the same inputs.
VOLATILE_KEYS = ("run_id", "started_at", "finished_at", "steps", "feeders_timing", "tracking")

STATUS_BY_CODE = {
    ExitCode.OK: "ok",
    ExitCode.FALLBACK: "fallback",
    ExitCode.BAD_INPUT: "bad_input",
    ExitCode.INFEASIBLE: "infeasible",
    ExitCode.INTERNAL: "failed",
    ExitCode.UNREACHABLE: "unreachable",
    ExitCode.LOCKED: "locked",
}


def utcnow_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FallbackKind(StrEnum):
    """What the run did instead of its normal result; each one makes the exit code 1.

    The values are what ``run.json`` and the report show (docs/operations.md lists them).
    """

    SUBSTITUTED = "substituted"
    """forecast: the champion could not forecast D; the baseline's forecast was used."""
    GATES_FAILED = "gates_failed"
    """forecast: the data failed an error-severity quality gate (the baseline was asked for)."""
    TRACKING_UNREACHABLE = "tracking_unreachable"
    """tracking: the MLflow store is unusable; the run went on without logging."""
    DATA_FAULT = "data_fault"
    """data: a fault in the last days before the issue time (stale or missing data, a unit change, a
    level shift, a spike, a copied series, implausible temperatures): the series is named, the
    forecast of it is not to be trusted as is."""
    DASK_LOCAL = "dask_local"
    """feeders: the Dask scheduler was lost mid-run; the unfinished feeders ran in-process."""
    NO_DATA = "no_data"
    """feeders: the feeder's series has no forecast for D; the feeder is left out."""
    IDLE_SCHEDULE = "idle_schedule"
    """dispatch: infeasible or failed; every battery idles at 0 kW (safe)."""
    BEST_FEASIBLE_TIMEOUT = "best_feasible_timeout"
    """dispatch: the solver hit its time limit with a feasible plan; that plan is used."""


#: The job steps a fallback is taken in.
FallbackStep = Literal["data", "forecast", "feeders", "dispatch", "tracking"]


@dataclass
class Fallback:
    """One fallback taken by the run (it makes the exit code 1)."""

    step: FallbackStep
    kind: FallbackKind
    reason: str
    feeder: str | None = None


class FileDigest(TypedDict):
    """Size and digest of one input file."""

    bytes: int
    sha256: str


class ConfigFile(TypedDict):
    """The YAML the run's config came from."""

    path: str
    sha256: str


class InputsRecord(TypedDict, total=False):
    """``run.json`` ``inputs``: what the run read (empty until the data step has run)."""

    files: dict[str, FileDigest]
    findings: list[dict[str, Any]]
    """Data-quality findings (the first 200; :meth:`gridai.exceptions.Finding.to_dict`)."""
    n_findings: int
    gate_failed: list[str]
    """Why the forecast inputs failed the quality gates (empty: passed)."""
    config: ConfigFile


class ModelRecord(TypedDict, total=False):
    """``run.json`` ``model``: the forecaster asked for and the one used.

    ``name``, ``version``, ``run_id`` are there once a champion was resolved; ``sha256`` is the
    digest of a local model directory's files; ``reason`` when the baseline was substituted.
    """

    requested: str
    used: str
    substituted: bool
    model: str | None
    name: str | None
    version: str | None
    run_id: str | None
    sha256: str | None
    reason: str


class WeatherRecord(TypedDict, total=False):
    """``run.json`` ``weather``: the weather the forecast of D was made with (times naive UTC).

    ``source`` is ``observed`` (no forecast file: ex-post weather, also after the issue time) or
    ``observed+forecast`` (observed up to ``observed_until``, exclusive; the ``forecast_hours``
    from the forecast file, ``forecast_hours_by_issue`` counting the hours each issue covered).
    """

    source: Literal["observed", "observed+forecast"]
    issue_time: str
    day: list[str]
    """Start and exclusive end of local day D."""
    observed_last: str | None
    """Last observed weather timestamp before the issue time."""
    observed_until: str
    forecast_file: str
    forecast_rule: str
    """How the file's issue times were set (its ``issue_time`` column, or the documented rule)."""
    forecast_issue_time: str | None
    """The newest forecast issue at or before the issue time."""
    forecast_hours: list[str]
    forecast_hours_by_issue: dict[str, int]
    files: dict[str, str]
    """Weather files read and their SHA-256."""


class FeederRecord(TypedDict, total=False):
    """``run.json`` ``feeders[name]``: the feeder's dispatch (solver status, costs, fallback)."""

    status: str
    """Solver status (:class:`gridai.optim.solve.Status` value), ``error``, or ``no_data``."""
    objective: float | None
    fallback: FallbackKind | None
    reason: str | None
    costs: dict[str, float]
    seconds: float
    solve_s: float
    worker: str
    network: dict[str, Any]


@dataclass
class RunManifest:
    """Mutable record of a run, serialised to ``run.json``."""

    job: str
    date: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    gridai_version: str = __version__
    started_at: str = field(default_factory=utcnow_iso)
    finished_at: str | None = None
    status: str = "running"
    exit_code: int | None = None
    inputs: InputsRecord = field(default_factory=lambda: InputsRecord())
    config: dict[str, Any] = field(default_factory=dict)
    model: ModelRecord = field(default_factory=lambda: ModelRecord())
    weather: WeatherRecord = field(default_factory=lambda: WeatherRecord())
    feeders: dict[str, FeederRecord] = field(default_factory=dict)
    fallbacks: list[Fallback] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: dict[str, Any] = field(default_factory=dict)
    tracking: dict[str, Any] = field(default_factory=dict)
    dask: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    def add_fallback(
        self, step: FallbackStep, kind: FallbackKind, reason: str, feeder: str | None = None
    ) -> None:
        self.fallbacks.append(Fallback(step=step, kind=FallbackKind(kind), reason=reason, feeder=feeder))
        logger.warning("fallback in %s%s: %s (%s)", step, f" [{feeder}]" if feeder else "", kind, reason)

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        logger.warning("%s", message)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[dict[str, Any]]:
        """Time a step; its record (``seconds``, ``status``) lands in ``steps[name]``."""
        rec: dict[str, Any] = {"status": "running"}
        self.steps[name] = rec
        t0 = time.perf_counter()
        try:
            yield rec
        except BaseException as err:
            rec["status"] = "failed"
            rec["error"] = f"{type(err).__name__}: {err}"
            raise
        else:
            if rec["status"] == "running":
                rec["status"] = "ok"
        finally:
            rec["seconds"] = round(time.perf_counter() - t0, 3)

    def finish(self, code: ExitCode, error: BaseException | None = None) -> None:
        self.exit_code = int(code)
        self.status = STATUS_BY_CODE.get(code, "failed")
        self.finished_at = utcnow_iso()
        if error is not None:
            self.error = {"type": type(error).__name__, "message": str(error)}
            details = getattr(error, "details", None)
            if details:
                self.error["details"] = _jsonable(details)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))  # type: ignore[no-any-return]

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def write(self, path: str | Path) -> Path:
        """Write ``run.json`` atomically (:func:`gridai.outputs.write_text_atomic`)."""
        return write_text_atomic(path, self.to_json())


def stable_view(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without keys that legitimately differ between identical runs (for comparisons)."""
    out = {k: v for k, v in manifest.items() if k not in VOLATILE_KEYS}
    # the report names its run (run id): every other output is byte-identical between reruns
    out["outputs"] = {k: v for k, v in manifest.get("outputs", {}).items() if k != "report.html"}
    out["feeders"] = {
        name: {k: v for k, v in rec.items() if k not in ("seconds", "worker", "solve_s")}
        for name, rec in manifest.get("feeders", {}).items()
    }
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, Enum):  # FallbackKind, Status: their value
        return _jsonable(obj.value)
    if isinstance(obj, str | int | bool) or obj is None:
        return obj
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, Path):
        return str(obj)
    item = getattr(obj, "item", None)
    if callable(item):
        with contextlib.suppress(Exception):
            return _jsonable(item())
    return str(obj)
