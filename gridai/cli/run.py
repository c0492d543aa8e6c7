"""CLI for scheduled jobs: ``gridai run day-ahead`` (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Scheduled end-to-end jobs.", no_args_is_help=True)
