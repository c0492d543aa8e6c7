"""Read a load or weather source named by one string: ``gefcom2012``, a folder, or a file.

Shared by the CLI (``gridai data check --load ...``) and any job that takes a data path:

* ``gefcom2012`` -> the bundled GEFCom2012 copy; a folder holding ``Load_history.csv[.gz]``
  (or ``temperature_history.csv[.gz]``) -> that GEFCom2012 copy;
* ``*.nc`` -> :func:`gridai.data.io.read_netcdf`;
* ``*.parquet`` -> :func:`gridai.data.readers.read_long`;
* ``*.csv`` / ``*.csv.gz`` -> :func:`~gridai.data.readers.read_wide_csv`, or
  :func:`~gridai.data.readers.read_long` when the format is ``long`` (or ``auto`` and the header
  holds ``timestamp, series_id, value``).

How to read a file (time zone, interval convention, units, resolution, layout) is one
:class:`~gridai.data.options.ReaderOptions`, passed through to the readers unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import xarray as xr

from gridai.data import gefcom, readers
from gridai.data.csvtable import read_header
from gridai.data.io import read_netcdf, resolve_input_file
from gridai.data.options import ReaderOptions
from gridai.exceptions import GridAIDataError

GEFCOM = "gefcom2012"
LONG_COLUMNS = {"timestamp", "series_id", "value"}


def _is_gefcom_dir(path: Path, marker: str) -> bool:
    return path.is_dir() and any((path / f"{marker}{ext}").is_file() for ext in ("", ".gz"))


def _long_header(path: Path) -> bool:
    header = {h.strip() for h in read_header(path)}
    return header >= LONG_COLUMNS


def read_source(
    spec: str | Path, kind: Literal["load", "weather"], opts: ReaderOptions | None = None
) -> xr.Dataset:
    """Read the load or weather data named by ``spec`` (see the module docstring).

    Raises
    ------
    GridAIDataError
        The path does not exist, is a folder that is not a GEFCom2012 copy, has an unknown
        suffix, or its content is malformed (the readers' messages).
    """
    opts = opts or ReaderOptions()
    marker = "Load_history.csv" if kind == "load" else "temperature_history.csv"
    if str(spec).lower() == GEFCOM:
        return _gefcom(None, kind, opts)
    path = Path(spec)
    if _is_gefcom_dir(path, marker):
        return _gefcom(path, kind, opts)
    if path.is_dir():
        raise GridAIDataError(
            f"{path} is a directory; expected a data file (.csv, .csv.gz, .parquet, .nc) or a GEFCom2012 "
            f"folder holding {marker}",
            file=str(path),
        )
    resolve_input_file(path, what=f"{kind} file")
    name = path.name.lower()
    if name.endswith(".nc"):
        ds = read_netcdf(path)
        var = "load" if kind == "load" else "temperature"
        if var not in ds.data_vars:
            raise GridAIDataError(
                f"{path} holds no {var!r} variable (found {list(ds.data_vars)})", file=str(path)
            )
        return ds
    if name.endswith((".parquet", ".pq")):
        return readers.read_long(path, kind=kind, opts=opts)
    if name.endswith((".csv", ".csv.gz", ".txt")):
        long = opts.format == "long" or (opts.format == "auto" and _long_header(path))
        reader = readers.read_long if long else readers.read_wide_csv
        return reader(path, kind=kind, opts=opts)
    raise GridAIDataError(
        f"unknown file type {path.name!r}; expected .csv, .csv.gz, .parquet or .nc", file=str(path)
    )


def _gefcom(directory: Path | None, kind: str, opts: ReaderOptions) -> xr.Dataset:
    if kind == "load":
        ds = gefcom.read_gefcom_load(directory, include_solution=opts.include_solution)
    else:
        ds = gefcom.read_gefcom_temperature(directory, include_solution=opts.include_solution)
    if opts.resolution is not None:
        from gridai.data.resample import resample

        ds = resample(ds, opts.resolution)
    return ds
