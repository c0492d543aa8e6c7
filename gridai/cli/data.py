"""CLI for the data layer: ``gridai data check`` and friends (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Read, check, clean and convert load and weather data.", no_args_is_help=True)
