"""Shared CLI plumbing: logging set-up and the error -> exit-code mapping."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from gridai.exceptions import ExitCode, GridAIError

F = TypeVar("F", bound=Callable[..., Any])

console = Console(stderr=True)
logger = logging.getLogger("gridai")


def setup_logging(verbose: bool = False) -> None:
    """Configure the root gridai logger once (only the CLI does this)."""
    root = logging.getLogger("gridai")
    if any(isinstance(h, RichHandler) for h in root.handlers):
        return
    handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def cli_errors(fn: F) -> F:
    """Run a CLI command, turning gridai errors into a clear message and a documented exit code.

    ``GridAIError`` -> its ``exit_code`` (2 bad input, 3 infeasible, 5 unreachable, ...);
    any other exception -> 4 (internal error) with the traceback in the log.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        setup_logging()
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except GridAIError as err:
            console.print(f"[bold red]error:[/] {err.message}", markup=True, highlight=False)
            raise typer.Exit(int(err.exit_code)) from None
        except KeyboardInterrupt:
            console.print("[bold red]interrupted[/]")
            raise typer.Exit(130) from None
        except Exception as err:  # noqa: BLE001 - the last line of defence: never fail silently
            logger.exception("internal error: %s", err)
            console.print(f"[bold red]internal error:[/] {type(err).__name__}: {err}")
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    return wrapper  # type: ignore[return-value]


def fail(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> None:
    """Print ``message`` and exit with ``code``."""
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    sys.stderr.flush()
    raise typer.Exit(int(code))
