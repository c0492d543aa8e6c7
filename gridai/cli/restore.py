"""CLI commands for restore (being built; see the issue tracker)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register the restore commands on the root app."""
