"""Entry point of the ``gridai`` command.

Subcommands are defined in one module per domain and registered here.
"""

from __future__ import annotations

import typer

from gridai import __version__
from gridai.cli import backtest as backtest_cli
from gridai.cli import data as data_cli
from gridai.cli import dispatch as dispatch_cli
from gridai.cli import forecast as forecast_cli
from gridai.cli import restore as restore_cli
from gridai.cli import run as run_cli

app = typer.Typer(
    name="gridai",
    help=(
        "Day-ahead grid load forecasting (PyTorch), battery/VPP dispatch and feeder restoration "
        "(Pyomo + HiGHS), tracked in MLflow.\n\n"
        "Exit codes: 0 ok, 1 finished with fallbacks, 2 bad input/config, 3 infeasible, "
        "4 internal error, 5 service unreachable, 6 another run holds the lock."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gridai {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """gridai command line."""


app.add_typer(data_cli.app, name="data")
forecast_cli.register(app)
backtest_cli.register(app)
dispatch_cli.register(app)
restore_cli.register(app)
app.add_typer(run_cli.app, name="run")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
