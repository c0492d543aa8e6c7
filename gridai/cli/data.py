"""CLI for the data layer: ``gridai data check``, ``gridai data convert``, ``gridai data show``.

Exit codes: 0 ok (findings, if any, were cleaned and reported); 2 bad input, bad configuration or
a strict-mode failure -- nothing is written then; 4 internal error.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from gridai.cli.common import cli_errors
from gridai.exceptions import Finding, GridAIDataError

if TYPE_CHECKING:
    from gridai.data.options import ReaderOptions

app = typer.Typer(
    help=(
        "Read, check, clean and convert load and weather data.\n\n"
        "Sources: 'gefcom2012' (the bundled GEFCom2012 copy), a GEFCom2012 folder, a wide CSV "
        "(timestamp column + one column per series or station), a long CSV/Parquet "
        "(timestamp, series_id, value) or a NetCDF file written by gridai."
    ),
    no_args_is_help=True,
)
logger = logging.getLogger(__name__)
out_console = Console(highlight=False)

TZ_HELP = "Time zone of naive timestamps (IANA name, e.g. Europe/Amsterdam); DST handled explicitly."
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


# The reader options of the commands (fields of gridai.data.options.ReaderOptions, same
# defaults), declared once; gridai backtest takes them too.
TZ_OPTION = typer.Option("UTC", "--tz", help=TZ_HELP)
INTERVAL_OPTION = typer.Option(
    "start", "--interval", help="Timestamps label the 'start' or 'end' of intervals."
)
UNITS_OPTION = typer.Option("kW", "--units", help="Load units in the file: W, kW, MW, Wh, kWh, MWh.")
TEMPERATURE_UNITS_OPTION = typer.Option("degC", "--temperature-units", help="degC or degF.")
RESOLUTION_OPTION = typer.Option(None, "--resolution", help="Resample to this step (15min, 1h).")
FORMAT_OPTION = typer.Option("auto", "--format", help="CSV layout: auto, wide or long.")
DAYFIRST_OPTION = typer.Option(
    None,
    "--dayfirst/--monthfirst",
    help="Numeric dates such as 03/04/2024 are day first (dd/mm) or month first (mm/dd). "
    "Default: from the data; a file where every date reads both ways is refused.",
)
DATE_FORMAT_OPTION = typer.Option(
    None, "--date-format", help="Exact strptime format of the timestamps, e.g. '%d/%m/%Y %H:%M'."
)


def reader_options(**given: Any) -> ReaderOptions:
    """Command-line values -> one ``ReaderOptions`` (keys are its field names; a field a command
    does not offer keeps the model's default). A bad value is an exit-2 error naming the key."""
    from gridai.config import parse_config
    from gridai.data.options import ReaderOptions

    return parse_config(ReaderOptions, given, source="command-line options")


def _check_output(path: Path | None, what: str, suffixes: tuple[str, ...]) -> None:
    """Reject an unusable output path before any work is done."""
    if path is None:
        return
    if path.is_dir():
        raise GridAIDataError(f"{what} {path} is a directory; give a file name", file=str(path))
    if not path.name.lower().endswith(suffixes):
        raise GridAIDataError(f"{what} {path} must end in {' or '.join(suffixes)}", file=str(path))


def _write_dataset(ds: Any, path: Path) -> None:
    from gridai.data.io import write_netcdf, write_parquet

    if path.name.lower().endswith(".nc"):
        write_netcdf(ds, path)
    else:
        write_parquet(ds, path)


def _summary(name: str, source: str, ds: Any, findings: list[Finding]) -> Table:
    var = "load" if "load" in ds.data_vars else "temperature"
    dim = "series" if var == "load" else "station"
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    title = (
        f"{name}: {source} -- {ds.sizes['time']} timestamps x {ds.sizes[dim]} {dim}, "
        f"{ds.attrs.get('resolution', '?')}, {str(ds['time'].values[0])[:16]} .. {str(ds['time'].values[-1])[:16]}; "
        f"{counts['error']} errors, {counts['warning']} warnings, {counts['info']} info"
    )
    table = Table(title=title, title_justify="left", show_lines=False, expand=False)
    table.add_column("severity", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("what", overflow="fold", ratio=1)
    for f in sorted(findings, key=lambda f: {"error": 0, "warning": 1}.get(f.severity, 2)):
        table.add_row(
            f"[{SEVERITY_STYLE.get(f.severity, '')}]{f.severity}[/]",
            f.kind,
            str(f.count or ""),
            f.message,
        )
    return table


@app.command("check")
@cli_errors
def check(
    load: str = typer.Option(
        ..., "--load", help="Load source: 'gefcom2012', a GEFCom2012 folder, or a file."
    ),
    weather: str | None = typer.Option(None, "--weather", help="Weather source (same forms as --load)."),
    strict: bool = typer.Option(False, "--strict", help="Fail (exit 2) on the first error-severity finding."),
    report: Path | None = typer.Option(None, "--report", help="Write the findings as JSON to this file."),
    out: Path | None = typer.Option(
        None, "--out", help="Write the cleaned load to this .nc or .parquet file."
    ),
    weather_out: Path | None = typer.Option(
        None, "--weather-out", help="Write the cleaned weather (.nc/.parquet)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Quality thresholds (YAML, QualityConfig)."
    ),
    tz: str = TZ_OPTION,
    interval: str = INTERVAL_OPTION,
    units: str = UNITS_OPTION,
    temperature_units: str = TEMPERATURE_UNITS_OPTION,
    resolution: str | None = RESOLUTION_OPTION,
    fmt: str = FORMAT_OPTION,
    dayfirst: bool | None = DAYFIRST_OPTION,
    date_format: str | None = DATE_FORMAT_OPTION,
    no_solution: bool = typer.Option(
        False,
        "--no-solution",
        help="GEFCom2012: leave the blank backcast weeks blank, as in the competition.",
    ),
) -> None:
    """Check load (and weather) data, clean it, and report the findings.

    Non-strict (default): findings are reported, the data are cleaned (imputed points flagged)
    and exit code is 0. --strict: the first error-severity finding fails the run with exit code 2.
    Exit 2 also for unreadable input or configuration; nothing is written then.
    """
    from gridai.config import load_config
    from gridai.data.sources import read_source
    from gridai.data.validation import QualityConfig, check_load, check_weather, clean, findings_report
    from gridai.outputs import write_text_atomic

    _check_output(report, "report", (".json",))
    _check_output(out, "--out", (".nc", ".parquet"))
    _check_output(weather_out, "--weather-out", (".nc", ".parquet"))
    if weather_out is not None and weather is None:
        raise GridAIDataError("--weather-out needs --weather")
    cfg = load_config(QualityConfig, config) if config is not None else QualityConfig()
    # the summary table shows every finding; keep the per-finding log lines out of the terminal
    logging.getLogger("gridai.data.validation").setLevel(logging.ERROR)
    opts = reader_options(
        tz=tz,
        interval=interval,
        units=units,
        temperature_units=temperature_units,
        resolution=resolution,
        format=fmt,
        include_solution=not no_solution,
        dayfirst=dayfirst,
        date_format=date_format,
    )
    t0 = time.perf_counter()
    jobs = [("load", load, check_load, out)]
    if weather is not None:
        jobs.append(("weather", weather, check_weather, weather_out))
    results: dict[str, list[Finding]] = {}
    cleaned: list[tuple[Any, Path]] = []
    tables = []
    for kind, spec, check_fn, target in jobs:
        ds = read_source(spec, kind, opts)  # type: ignore[arg-type]
        source = str(ds.attrs.get("source_file", spec))
        findings = check_fn(ds, strict=strict, source=source, cfg=cfg)
        fixed = clean(ds, findings, cfg)
        results[kind] = findings
        tables.append(_summary(kind, source, fixed, findings))
        if target is not None:
            cleaned.append((fixed, target))
    elapsed = time.perf_counter() - t0
    # everything succeeded: now write
    for ds, target in cleaned:
        _write_dataset(ds, target)
    if report is not None:
        doc = findings_report(
            results,
            load=str(load),
            weather=weather,
            strict=strict,
            seconds=round(elapsed, 3),
            config=cfg.model_dump(mode="json"),
        )
        write_text_atomic(report, json.dumps(doc, indent=2))
    for table in tables:
        out_console.print(table)
    n_err = sum(f.severity == "error" for items in results.values() for f in items)
    out_console.print(
        f"checked in {elapsed:.2f} s; {n_err} error-severity findings were cleaned"
        + (f"; report: {report}" if report else "")
    )


@app.command("convert")
@cli_errors
def convert(
    source: str = typer.Argument(
        ..., help="Input: 'gefcom2012', a GEFCom2012 folder, or a CSV/Parquet/NetCDF file."
    ),
    target: Path = typer.Argument(..., help="Output file: .nc (NetCDF, lossless) or .parquet (tidy table)."),
    kind: str = typer.Option("load", "--kind", help="load or weather."),
    tz: str = TZ_OPTION,
    interval: str = INTERVAL_OPTION,
    units: str = UNITS_OPTION,
    temperature_units: str = TEMPERATURE_UNITS_OPTION,
    resolution: str | None = RESOLUTION_OPTION,
    fmt: str = FORMAT_OPTION,
    dayfirst: bool | None = DAYFIRST_OPTION,
    date_format: str | None = DATE_FORMAT_OPTION,
) -> None:
    """Read a source into the canonical form and write it as NetCDF or Parquet (atomically)."""
    from gridai.data.sources import read_source

    if kind not in ("load", "weather"):
        raise GridAIDataError(f"--kind must be 'load' or 'weather', got {kind!r}")
    _check_output(target, "target", (".nc", ".parquet"))
    opts = reader_options(
        tz=tz,
        interval=interval,
        units=units,
        temperature_units=temperature_units,
        resolution=resolution,
        format=fmt,
        dayfirst=dayfirst,
        date_format=date_format,
    )
    ds = read_source(source, kind, opts)  # type: ignore[arg-type]
    _write_dataset(ds, target)
    out_console.print(f"wrote {target} ({dict(ds.sizes)})")


@app.command("show")
@cli_errors
def show(
    source: str = typer.Argument(
        ..., help="'gefcom2012', a GEFCom2012 folder, or a CSV/Parquet/NetCDF file."
    ),
    kind: str = typer.Option("load", "--kind", help="load or weather."),
    tz: str = TZ_OPTION,
    interval: str = INTERVAL_OPTION,
    fmt: str = FORMAT_OPTION,
    dayfirst: bool | None = DAYFIRST_OPTION,
    date_format: str | None = DATE_FORMAT_OPTION,
) -> None:
    """Summarise a source: span, resolution, units and per-series statistics."""
    import numpy as np

    from gridai.data.sources import read_source

    if kind not in ("load", "weather"):
        raise GridAIDataError(f"--kind must be 'load' or 'weather', got {kind!r}")
    opts = reader_options(tz=tz, interval=interval, format=fmt, dayfirst=dayfirst, date_format=date_format)
    ds = read_source(source, kind, opts)  # type: ignore[arg-type]
    var, dim = ("load", "series") if kind == "load" else ("temperature", "station")
    values = ds[var].transpose("time", dim).values
    units = ds[var].attrs.get("units", ds.attrs.get("units", ""))
    table = Table(
        title=f"{source}: {ds.sizes['time']} x {ds.sizes[dim]} {dim}, {ds.attrs.get('resolution')}, "
        f"{str(ds['time'].values[0])[:16]} .. {str(ds['time'].values[-1])[:16]} (UTC, interval start), "
        f"source tz {ds.attrs.get('source_tz')}",
        title_justify="left",
    )
    for col in (dim, "present %", f"mean [{units}]", f"min [{units}]", f"max [{units}]"):
        table.add_column(col)
    present = 100 * np.mean(~np.isnan(values), axis=0)
    with warnings.catch_warnings():  # all-NaN series: statistics are NaN, not an error
        warnings.simplefilter("ignore", RuntimeWarning)
        stats = [np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)]
    for j, name in enumerate(ds[dim].values):
        table.add_row(str(name), f"{present[j]:.1f}", *(f"{s[j]:.4g}" for s in stats))
    out_console.print(table)
