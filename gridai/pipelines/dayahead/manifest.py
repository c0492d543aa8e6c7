"""The run manifest (``run.json``): what a scheduled run read, used, did and produced.

``run.json`` is written for every run, also a failed one, so that an operator never has to
guess. Its keys:

``job``, ``date``, ``run_id``, ``gridai_version``, ``started_at``, ``finished_at``
    Identity of the run (times are UTC ISO strings).
``status``, ``exit_code``
    ``ok`` (0), ``fallback`` (1), ``bad_input`` (2), ``infeasible`` (3), ``failed`` (4).
``inputs``
    Every input file with its size and SHA-256 digest, plus the config digest.
``model``
    The model URI asked for, the one used, its version, and ``substituted`` with the reason.
``feeders``
    Per feeder: solver status, objective, fallback used, timings.
``fallbacks``, ``warnings``
    Every fallback (``{"step", "kind", "feeder", "reason"}``) and warning of the run.
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
from pathlib import Path
from typing import Any

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


@dataclass
class Fallback:
    """One fallback taken by the run (it makes the exit code 1)."""

    step: str
    kind: str
    reason: str
    feeder: str | None = None


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
    inputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    feeders: dict[str, Any] = field(default_factory=dict)
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    steps: dict[str, Any] = field(default_factory=dict)
    tracking: dict[str, Any] = field(default_factory=dict)
    dask: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    def add_fallback(self, step: str, kind: str, reason: str, feeder: str | None = None) -> None:
        fb = Fallback(step=step, kind=kind, reason=reason, feeder=feeder)
        self.fallbacks.append(asdict(fb))
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
