"""Persisting canonical datasets: NetCDF (lossless) and Parquet (tabular exports).

Every writer is **atomic** (:func:`gridai.outputs.atomic_path`): it writes a temporary file next
to the target and moves it into place with :func:`os.replace`, so a reader never sees a
half-written file and a failed write leaves nothing behind.

NetCDF cannot hold every Python attribute type (booleans, ``None``, dictionaries, mixed lists).
:func:`write_netcdf` stores such attributes as one JSON string (attribute ``_gridai_json_attrs``)
and :func:`read_netcdf` restores them, so that ``read_netcdf(write_netcdf(ds))`` is identical
to ``ds`` (values, coordinates including object/string ones, dtypes and attributes).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.exceptions import GridAIDataError
from gridai.outputs import atomic_path

logger = logging.getLogger(__name__)

JSON_ATTRS_KEY = "_gridai_json_attrs"
PARQUET_ATTRS_KEY = b"gridai.attrs"


def resolve_input_file(path: str | Path, *, what: str = "input file") -> Path:
    """Check that ``path`` names an existing, non-empty regular file and return it.

    Raises
    ------
    GridAIDataError
        The path does not exist, is a directory, or is an empty file; the message names it.
    """
    p = Path(path)
    if not p.exists():
        raise GridAIDataError(f"{what} {p} does not exist", file=str(p))
    if p.is_dir():
        raise GridAIDataError(f"{what} {p} is a directory; expected a file", file=str(p))
    if p.stat().st_size == 0:
        raise GridAIDataError(f"{what} {p} is empty (0 bytes)", file=str(p))
    return p


def _is_native_attr(value: Any) -> bool:
    """Whether netCDF stores ``value`` and gives it back unchanged (scalar str/int/float only:
    one-element lists come back as scalars, booleans and ``None`` are refused)."""
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, str | int | float | np.integer | np.floating)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"attribute value {value!r} of type {type(value).__name__} cannot be stored")


def _encode_attrs(attrs: Mapping[Any, Any], where: str) -> dict[str, Any]:
    native = {str(k): v for k, v in attrs.items() if _is_native_attr(v)}
    other = {str(k): v for k, v in attrs.items() if not _is_native_attr(v)}
    if other:
        try:
            native[JSON_ATTRS_KEY] = json.dumps(other, default=_json_default)
        except TypeError as err:
            raise GridAIDataError(f"cannot store attributes of {where}: {err}") from None
    return native


def _decode_attrs(attrs: Mapping[Any, Any]) -> dict[str, Any]:
    out = {str(k): v for k, v in attrs.items() if k != JSON_ATTRS_KEY}
    if JSON_ATTRS_KEY in attrs:
        out.update(json.loads(str(attrs[JSON_ATTRS_KEY])))
    return out


def write_netcdf(ds: xr.Dataset, path: str | Path, *, compress: bool = True) -> Path:
    """Write ``ds`` to a NetCDF-4 file atomically (temporary file, then :func:`os.replace`).

    Parameters
    ----------
    ds:
        Any dataset; canonical load/weather datasets round-trip exactly through :func:`read_netcdf`.
    path:
        Target file; parent folders are created.
    compress:
        zlib-compress numeric variables (level 4).

    Returns
    -------
    Path
        The written file.
    """
    out = ds.copy(deep=False)
    out.attrs = _encode_attrs(ds.attrs, "the dataset")
    encoding: dict[str, dict[str, Any]] = {}
    for name, var in out.variables.items():
        var.attrs = _encode_attrs(ds.variables[name].attrs, f"variable {name!r}")
        if compress and var.dtype.kind in "iufb" and var.ndim > 0 and name not in out.dims:
            encoding[str(name)] = {"zlib": True, "complevel": 4}
    with atomic_path(path) as tmp:
        out.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    logger.debug("wrote %s", path)
    return Path(path)


def read_netcdf(path: str | Path) -> xr.Dataset:
    """Read a dataset written by :func:`write_netcdf` fully into memory (the file is closed).

    String coordinates come back as ``object`` arrays and times as ``datetime64[ns]``, as the
    canonical schema has them.

    Raises
    ------
    GridAIDataError
        The file does not exist, is a directory, is empty or is not a readable NetCDF file.
    """
    p = resolve_input_file(path, what="NetCDF file")
    try:
        with xr.open_dataset(p, engine="h5netcdf") as f:
            ds = f.load()
    except (OSError, ValueError) as err:
        raise GridAIDataError(f"{p} is not a readable NetCDF file: {err}", file=str(p)) from None
    ds.attrs = _decode_attrs(ds.attrs)
    for var in ds.variables.values():
        var.attrs = _decode_attrs(var.attrs)
    fixes: dict[str, Any] = {}
    for name, var in ds.variables.items():
        if var.dtype.kind == "U":
            fixes[str(name)] = var.astype(object)
        elif var.dtype.kind == "M" and var.dtype != np.dtype("datetime64[ns]"):
            fixes[str(name)] = var.astype("datetime64[ns]")
    coord_fixes = {k: v for k, v in fixes.items() if k in ds.coords}
    if coord_fixes:
        ds = ds.assign_coords(coord_fixes)
    for k, v in fixes.items():
        if k not in ds.coords:
            ds[k] = v
    return ds


def _to_frame(obj: pd.DataFrame | xr.Dataset) -> tuple[pd.DataFrame, dict[str, Any]]:
    if isinstance(obj, xr.Dataset):
        frame = obj.to_dataframe().reset_index()
        attrs = dict(obj.attrs)
    else:
        frame = obj if isinstance(obj.index, pd.RangeIndex) else obj.reset_index()
        attrs = dict(obj.attrs)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            raise GridAIDataError(f"column {col!r} is time-zone aware; convert to naive UTC before export")
    return frame, attrs


def write_parquet(obj: pd.DataFrame | xr.Dataset, path: str | Path) -> Path:
    """Write a table (or a dataset, flattened to one row per coordinate tuple) to Parquet atomically.

    A dataset becomes a tidy table: one column per dimension (``time``, ``series``, ...), one per
    variable and non-index coordinate. Dataset/DataFrame attributes are kept as JSON in the
    Parquet schema metadata (key ``gridai.attrs``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame, attrs = _to_frame(obj)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[PARQUET_ATTRS_KEY] = json.dumps(attrs, default=_json_default).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    logger.debug("wrote %s", path)
    return Path(path)


def read_parquet(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet`; attributes land in ``DataFrame.attrs``."""
    import pyarrow.parquet as pq

    p = resolve_input_file(path, what="Parquet file")
    try:
        table = pq.read_table(p)
    except (OSError, ValueError) as err:
        raise GridAIDataError(f"{p} is not a readable Parquet file: {err}", file=str(p)) from None
    frame = table.to_pandas()
    raw = (table.schema.metadata or {}).get(PARQUET_ATTRS_KEY)
    if raw:
        frame.attrs = json.loads(raw.decode())
    return frame
