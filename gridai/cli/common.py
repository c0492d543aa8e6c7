"""Shared CLI plumbing: logging set-up, the error -> exit-code mapping and ``--json`` output.

Logs and messages go to stderr. On a terminal they are drawn by rich; written to a file or a
pipe they are one line per record (``time level logger: message``), never wrapped. With
``--json`` a command prints exactly one JSON document on stdout and nothing else: while it runs,
everything else written to stdout (a solver's banner included, which HiGHS prints from C) is sent
to stderr.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from gridai.exceptions import ExitCode, GridAIError

F = TypeVar("F", bound=Callable[..., Any])

console = Console(stderr=True, soft_wrap=True)
logger = logging.getLogger("gridai")
#: Marks the handler this module installs, so that set-up is done once.
_HANDLER_NAME = "gridai-cli"


def setup_logging(verbose: bool = False) -> None:
    """Configure the root gridai logger once (only the CLI does this)."""
    root = logging.getLogger("gridai")
    if any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        return
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = _OneLineHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.set_name(_HANDLER_NAME)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


class _OneLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stderr handler that writes each record on one line (newlines escaped)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # follow a redirected stderr (tests, --json)
        super().emit(record)


@dataclass
class JsonDocument:
    """The one JSON document a ``--json`` command prints; set ``value`` before returning."""

    value: Any = None


_current: contextvars.ContextVar[JsonDocument | None] = contextvars.ContextVar("gridai_json", default=None)


def emit_json(value: Any) -> None:
    """Make ``value`` the command's JSON document (printed on stdout when the command ends)."""
    doc = _current.get()
    if doc is None:  # not under json_output: print at once
        sys.stdout.write(json.dumps(value, default=str) + "\n")
        return
    doc.value = value


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout, by Python or by C code, to stderr until exit."""
    sys.stdout.flush()
    try:
        fd_out, fd_err = sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd_out = fd_err = -1  # in-process test runners: no file descriptors to move
    saved = os.dup(fd_out) if fd_out >= 0 else -1
    real = sys.stdout
    try:
        if saved >= 0:
            os.dup2(fd_err, fd_out)
        sys.stdout = sys.stderr
        yield
    finally:
        sys.stdout.flush()
        sys.stdout = real
        if saved >= 0:
            os.dup2(saved, fd_out)
            os.close(saved)


@contextlib.contextmanager
def json_output(enabled: bool) -> Iterator[JsonDocument]:
    """With ``enabled``, print exactly one JSON document on stdout when the block ends.

    The document is ``doc.value`` as set by the command (or :func:`emit_json`); a gridai error inside the block prints
    ``{"ok": false, "exit_code": N, "error": message, "details": {...}}`` instead (the error is
    then reported on stderr and exits as usual).
    """
    doc = JsonDocument()
    if not enabled:
        yield doc
        return
    token = _current.set(doc)
    try:
        with _stdout_to_stderr():
            yield doc
    except GridAIError as err:
        doc.value = {
            "ok": False,
            "exit_code": int(err.exit_code),
            "error": err.message,
            "details": err.details,
        }
        raise
    finally:
        _current.reset(token)
        if doc.value is not None:
            sys.stdout.write(json.dumps(doc.value, default=str) + "\n")
            sys.stdout.flush()


def cli_errors(fn: F) -> F:
    """Run a CLI command, turning gridai errors into a clear message and a documented exit code.

    ``GridAIError`` -> its ``exit_code`` (2 bad input, 3 infeasible, 5 unreachable, ...);
    any other exception -> 4 (internal error) with the traceback in the log.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        setup_logging()
        try:
            with json_output(bool(kwargs.get("as_json"))):
                return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except GridAIError as err:
            console.print(f"[bold red]error:[/] {escape(err.message)}", markup=True, highlight=False)
            raise typer.Exit(int(err.exit_code)) from None
        except pydantic.ValidationError as err:  # a command-line value assigned to a config field
            from gridai.config import format_validation_error

            console.print(
                f"[bold red]error:[/] {escape(format_validation_error(err, 'command-line options'))}",
                markup=True,
                highlight=False,
            )
            raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
        except KeyboardInterrupt:
            console.print("[bold red]interrupted[/]")
            raise typer.Exit(130) from None
        except Exception as err:  # noqa: BLE001 - the last line of defence: never fail silently
            logger.exception("internal error: %s", err)
            console.print(f"[bold red]internal error:[/] {escape(type(err).__name__ + ': ' + str(err))}")
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    return wrapper  # type: ignore[return-value]


def fail(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> None:
    """Print ``message`` and exit with ``code``."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    sys.stderr.flush()
    raise typer.Exit(int(code))
