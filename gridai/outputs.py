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

The same rule for single writes, used by every writer of the package (datasets, plots,
manifests, model artifacts): :func:`atomic_path` / :func:`write_bytes_atomic` /
:func:`write_text_atomic` write a hidden temporary file in the target's directory, fsync it and
move it onto the target with :func:`os.replace`; :func:`atomic_dir` builds a directory in a
hidden sibling and swaps it in (or, ``merge=True``, moves the files it staged into an existing
directory one by one). A failure removes the temporary and leaves the previous target as it was.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
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


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the ones created, innermost first."""
    created: list[Path] = []
    p = folder
    while not p.exists():
        created.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    return created


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # innermost first
        try:
            folder.rmdir()
        except OSError:
            break


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, fsync it and move it onto ``path``.

    The temporary file is hidden (``.<name>.<random>.tmp<suffix>``: it keeps the target's
    suffix, for writers that pick a format by it) and lies in the target's directory, so the
    final :func:`os.replace` is one ``rename(2)``. It gets the usual permissions
    (``0o666 & ~umask``). On any error the temporary file, and any parent folder this call
    created, are removed and the previous ``path`` is left as it was.
    """
    target = Path(path)
    created = _make_parents(target.parent)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        _remove_empty(created)
        raise
    _fsync_dir(target.parent)


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary path and move it onto ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``."""
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns ``path``."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding=encoding))


def _fsync_tree(root: Path) -> None:
    for folder, _dirs, files in os.walk(root):
        for name in files:
            _fsync_file(Path(folder) / name)
        _fsync_dir(Path(folder))


def ownership_marker(path: Path) -> Path:
    """The hidden file beside a directory gridai published (``.<name>.gridai``): gridai replaces
    only directories it wrote, and marks them beside them so their listing stays the user's."""
    return path.absolute().parent / f".{path.absolute().name}.gridai"


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories in one step with Linux ``renameat2(RENAME_EXCHANGE)``; ``False`` where
    the system or file system does not offer it."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_in(staging: Path, final: Path, aside: Path) -> None:
    """Replace the directory ``final`` by ``staging``, then remove the old one.

    On Linux both are exchanged by one ``renameat2(RENAME_EXCHANGE)``: there is no instant at
    which ``final`` is missing, even if the process is killed. Elsewhere ``final`` is renamed to
    ``aside`` and ``staging`` to ``final`` (a killed process leaves ``aside``, which
    :meth:`OutputDir.recover` restores). All three paths lie in the same parent directory.
    """
    _fsync_dir(staging)
    if final.exists() and _exchange(staging, final):
        _fsync_dir(final.parent)
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous outputs
        return
    moved = final.exists()
    if moved:
        os.rename(final, aside)
    try:
        os.rename(staging, final)
    except OSError:
        if moved:
            os.rename(aside, final)
        raise
    _fsync_dir(final.parent)
    if moved:
        shutil.rmtree(aside, ignore_errors=True)


def check_replaceable(path: Path, what: str = "--out", marker: Path | None = None) -> None:
    """Refuse to replace ``path`` unless gridai wrote it (or it is new or empty).

    gridai wrote it when ``marker`` (default :func:`ownership_marker`) exists beside it, or it
    holds a gridai ``run.json``.

    Raises
    ------
    OutputNotWritableError
        ``path`` is a symbolic link, not a directory, or a directory holding files gridai did
        not write: gridai never deletes those.
    """
    if path.is_symlink():
        raise OutputNotWritableError(
            f"{what} {path} is a symbolic link (to {os.readlink(path)}); give the real directory",
            file=str(path),
        )
    if not path.exists():
        return
    if not path.is_dir():
        raise OutputNotWritableError(f"{what} {path} exists and is not a directory", file=str(path))
    entries = sorted(p.name for p in path.iterdir())
    owned = (marker or ownership_marker(path)).exists() or "run.json" in entries
    if entries and not owned:
        shown = ", ".join(entries[:5]) + (" ..." if len(entries) > 5 else "")
        raise OutputNotWritableError(
            f"{what} {path} already holds files gridai did not write ({shown}); gridai never "
            "deletes them: give a new or empty directory",
            file=str(path),
        )


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def safe_path_part(name: str, what: str) -> str:
    """``name`` if it can be used as one path component inside an output directory.

    Raises
    ------
    GridAIConfigError
        ``name`` is empty, ``.``/``..``, absolute, holds a separator or other characters than
        letters, digits, ``_ . -``, or is longer than 128 characters.
    """
    if not _SAFE_NAME.match(name) or ".." in name:
        raise GridAIConfigError(
            f"{what} {name!r} cannot name an output file or folder: use letters, digits, '_', '.' and '-' "
            "(starting with a letter or digit, no '..', at most 128 characters)",
            key=what,
        )
    return name


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, merge: bool = False) -> Iterator[Path]:
    """Yield a hidden staging directory; when the block succeeds, publish what it holds at ``path``.

    ``merge=False``: the staging directory is a sibling ``.<name>.tmp-<random>`` of ``path`` and
    replaces ``path`` as a whole (:func:`swap_in`): a reader sees the old directory or the new
    one. ``merge=True``: the staging directory lies inside ``path`` (created if missing) and each
    file staged at its top level is moved onto ``path/<file>`` with :func:`os.replace`, in name
    order: every file is replaced atomically, files of ``path`` not staged are kept. Files are
    fsynced before they are published; on any error the staging directory is removed and
    ``path`` is left as it was.
    """
    final = Path(path)
    if merge:
        final.mkdir(parents=True, exist_ok=True)
        parent = final
    else:
        check_replaceable(final)
        parent = final.absolute().parent
        parent.mkdir(parents=True, exist_ok=True)
    name = final.absolute().name
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent))
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp creates 0700
        yield staging
        _fsync_tree(staging)
        if merge:
            for f in sorted(staging.iterdir()):
                os.replace(f, final / f.name)
            _fsync_dir(final)
        else:
            swap_in(staging, final, parent / f".{name}.old-{uuid.uuid4().hex[:12]}")
            ownership_marker(final).write_text("gridai wrote the directory beside this file\n")
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


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
        """Create the root, take the day's lock, recover a crashed swap, create the staging dir.

        A ``<root>/<name>`` that gridai did not publish (no lock file of an earlier run beside it,
        no ``run.json`` in it) is refused before anything is written.
        """
        check_replaceable(self.final, "published output", marker=self.root / f".{self.name}.lock")
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
        swap_in(self.staging, self.final, self.root / f".{self.name}.old-{uuid.uuid4().hex[:12]}")
        self.published = True
        logger.info("published %s", self.final)
        return self.final
