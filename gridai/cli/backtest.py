"""CLI command ``gridai backtest`` (being built; see the issue tracker)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register the backtest command on the root app."""
