"""Atomic, idempotent output directories for scheduled jobs.

A run for day ``D`` writes every file into a private staging directory
``<root>/.D.tmp-<uuid>/`` and only then publishes it as ``<root>/D``:

1. the previous ``<root>/D`` (if any) is renamed aside to ``<root>/.D.old-<uuid>``;
2. the staging directory is renamed to ``<root>/D`` (a single ``rename(2)``);
3. the aside copy is removed.

A reader therefore sees either the complete previous outputs or the complete new ones, never
a half-written directory. If the process dies between steps 1 and 2, the next run for ``D``
finds ``D`` missing and an ``.D.old-*`` directory and restores it before doing anything
(:meth:`OutputDir.recover`). Staging directories left by killed runs are removed by the next
run for the same day. A lock file (``<root>/.D.lock``, ``flock``) keeps two runs for the same
day from publishing over each other.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from gridai.exceptions import ExitCode, GridAIConfigError, GridAIError

logger = logging.getLogger(__name__)


class OutputNotWritableError(GridAIConfigError):
    """The output root cannot be created or written (exit code 2: fix ``--out`` and rerun)."""


class RunInProgressError(GridAIError):
    """Another run for the same day holds the lock on the output directory (exit code 6: retry later)."""

    exit_code = ExitCode.LOCKED


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class OutputDir:
    """Stage files for ``<root>/<name>`` and publish them atomically.

    Use as a context manager: the lock is taken and stale state recovered on entry, the staging
    directory is removed on exit unless :meth:`publish` moved it into place.

    Parameters
    ----------
    root:
        The output root (``--out``); created if missing.
    name:
        The published directory name (the day, ``YYYY-MM-DD``).
    """

    def __init__(self, root: str | Path, name: str) -> None:
        self.root = Path(root)
        self.name = name
        self.final = self.root / name
        self.staging = self.root / f".{name}.tmp-{uuid.uuid4().hex[:12]}"
        self._lock_fh: IO[Any] | None = None
        self.published = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> OutputDir:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Create the root, take the day's lock, recover a crashed swap, create the staging dir."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._lock_fh = open(self.root / f".{self.name}.lock", "a")  # noqa: SIM115 - held until close()
        except OSError as err:
            raise OutputNotWritableError(
                f"output directory {self.root} cannot be created or written: {err.strerror or err}",
                file=str(self.root),
            ) from None
        try:
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            self._lock_fh.close()
            self._lock_fh = None
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise RunInProgressError(
                    f"another run for {self.name} is writing to {self.root}; wait for it to finish",
                    file=str(self.root),
                ) from None
            raise
        self.recover()
        try:
            self.staging.mkdir()
            probe = self.staging / ".probe"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as err:
            self.close()
            raise OutputNotWritableError(
                f"output directory {self.root} is not writable: {err.strerror or err}", file=str(self.root)
            ) from None

    def close(self) -> None:
        """Remove the staging directory if it was not published and release the lock."""
        if not self.published and self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)
        if self._lock_fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def recover(self) -> None:
        """Undo what a killed run left behind (called with the lock held).

        * ``D`` missing but ``.D.old-*`` present: the process died mid-swap; restore the old copy.
        * ``.D.old-*`` next to a present ``D``: the swap finished; remove the leftovers.
        * ``.D.tmp-*``: staging of a killed run; remove it.
        """
        olds = sorted(self.root.glob(f".{self.name}.old-*"), key=lambda p: p.stat().st_mtime)
        if olds and not self.final.exists():
            logger.warning(
                "restoring %s from %s (a previous run died while publishing)", self.final, olds[-1]
            )
            os.rename(olds[-1], self.final)
            olds = olds[:-1]
        for p in olds:
            shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob(f".{self.name}.tmp-*"):
            if p != self.staging:
                logger.info("removing staging directory %s left by a killed run", p)
                shutil.rmtree(p, ignore_errors=True)

    # ------------------------------------------------------------------ writing
    def path(self, filename: str) -> Path:
        """Where to write ``filename`` in the staging directory."""
        return self.staging / filename

    @contextlib.contextmanager
    def open_text(self, filename: str) -> Iterator[IO[str]]:
        """Open ``filename`` in the staging directory for writing text (fsynced on close)."""
        with open(self.path(filename), "w", encoding="utf-8", newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())

    def digests(self) -> dict[str, str]:
        """SHA-256 of every file staged so far, by file name."""
        return {p.name: sha256_file(p) for p in sorted(self.staging.iterdir()) if p.is_file()}

    def publish(self) -> Path:
        """Atomically replace ``<root>/<name>`` with the staging directory; returns the final path."""
        _fsync_dir(self.staging)
        aside: Path | None = None
        if self.final.exists():
            aside = self.root / f".{self.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(self.final, aside)
        try:
            os.rename(self.staging, self.final)
        except OSError:
            if aside is not None:
                os.rename(aside, self.final)
            raise
        self.published = True
        _fsync_dir(self.root)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
        logger.info("published %s", self.final)
        return self.final
