"""CLI commands for forecast (being built; see the issue tracker)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register the forecast commands on the root app."""
