"""Read a user's pandapower JSON network with an allow-list parser: data in, never code.

pandapower's own reader (``pandapower.from_json``) rebuilds whatever objects a file names
(``_module`` / ``_class``), and hands a DataFrame's ``_object`` string to ``pandas.read_json``,
which reads it as a *path* when it names a file. A network file from someone else can therefore
run code or read other files. This reader accepts only what a pandapower network is made of:

* the envelope ``{"_module": "pandapower.auxiliary", "_class": "pandapowerNet", "_object": {...}}``;
* element tables, each ``{"_module": "pandas.core.frame", "_class": "DataFrame", "orient": "split",
  "_object": "<JSON text: columns, index, data>", "dtype": {column: dtype}}`` with printable column
  names, integer index and scalar cells (parsed here with :func:`json.loads`, never by pandas),
  at the top level or nested one level as pandapower writes them (``"std_types|line_dc"``);
* scalars (``name``, ``f_hz``, ``sn_mva``, ``version`` ...) and plain nested mappings
  (``std_types``, ``user_pf_options``, SimBench's ``profiles``) whose only serialised objects are
  such tables.

Anything else is rejected with a :class:`~gridai.exceptions.GridAIDataError` naming the file and
the key. The tables are then set on a fresh ``pandapower.create_empty_network()``, and an older
``format_version`` is brought up to date by pandapower's (data-only) ``convert_format``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandapower as pp
import pandas as pd

from gridai.exceptions import GridAIDataError

#: Largest network file read [bytes]: SimBench's largest grids are about 30 MB as JSON.
MAX_NETWORK_JSON_BYTES = 256 << 20

_NET_CLASS = ("pandapower.auxiliary", "pandapowerNet")
_TABLE_CLASSES = {("pandas.core.frame", "DataFrame"), ("pandapower.auxiliary", "DataFrame")}
_TABLE_KEYS = {
    "_module", "_class", "_object", "orient", "dtype", "is_multiindex", "is_multicolumn", "index_name", "columns_name",
}  # fmt: skip
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
#: A column name: printable, no control characters (SimBench has 'self-discharge_percent_per_day').
_COLUMN = re.compile(r"^[^\x00-\x1f\x7f]{1,128}$")
#: dtypes pandapower tables use; anything else (e.g. a class path) is refused.
_DTYPES = {
    "object", "str", "string", "bool", "boolean", "category",
    "float16", "float32", "float64", "Float32", "Float64",
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
}  # fmt: skip
_SCALARS = (str, int, float, bool, type(None))


def _bad(path: str, where: str, what: str) -> GridAIDataError:
    return GridAIDataError(
        f"network file {path}: {where}: {what} (gridai reads only pandapower element tables, "
        "scalars and plain mappings from a network JSON)",
        file=path,
        key=where,
    )


def _plain(node: Any, path: str, where: str, depth: int = 0) -> Any:
    """Check a nested mapping holds only JSON data, no serialised objects."""
    if depth > 8:
        raise _bad(path, where, "nested too deeply")
    if isinstance(node, dict):
        if "_module" in node or "_class" in node:
            if (str(node.get("_module")), str(node.get("_class"))) in _TABLE_CLASSES:
                return _table(node, path, where)  # a table inside a mapping (SimBench's profiles)
            raise _bad(path, where, f"names an object ({node.get('_module')}.{node.get('_class')})")
        return {str(k): _plain(v, path, f"{where}.{k}", depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v, path, f"{where}[]", depth + 1) for v in node]
    if isinstance(node, _SCALARS):
        return node
    raise _bad(path, where, f"unexpected value of type {type(node).__name__}")


def _table(node: dict[str, Any], path: str, where: str) -> pd.DataFrame:
    cls = (str(node.get("_module")), str(node.get("_class")))
    if cls not in _TABLE_CLASSES:
        raise _bad(path, where, f"names {cls[0]}.{cls[1]}, not a pandas DataFrame")
    extra = set(node) - _TABLE_KEYS
    if extra:
        raise _bad(path, where, f"unexpected table fields {sorted(extra)}")
    if node.get("orient", "split") != "split" or node.get("is_multiindex") or node.get("is_multicolumn"):
        raise _bad(path, where, "only 'split' tables with a plain index and columns are read")
    body = node.get("_object")
    if isinstance(body, str):
        stripped = body.lstrip()
        if not stripped.startswith("{"):
            raise _bad(path, where, "table body is not inline JSON (a file name or URL is never followed)")
        try:
            body = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise _bad(path, where, f"table body is not valid JSON ({err.msg} at {err.pos})") from None
    if not isinstance(body, dict) or set(body) - {"columns", "index", "data"}:
        raise _bad(path, where, "table body must hold only 'columns', 'index' and 'data'")
    columns, index, data = body.get("columns", []), body.get("index", []), body.get("data", [])
    if not (isinstance(columns, list) and all(isinstance(c, str) and _COLUMN.match(c) for c in columns)):
        raise _bad(path, where, "column names must be printable strings of at most 128 characters")
    if not (
        isinstance(index, list) and all(isinstance(i, int | str) and not isinstance(i, bool) for i in index)
    ):
        raise _bad(path, where, "the index must be integers or strings")
    if not isinstance(data, list) or len(data) != len(index):
        raise _bad(
            path,
            where,
            f"{len(index)} index entries but {len(data) if isinstance(data, list) else 'no'} rows",
        )
    for r, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise _bad(path, where, f"row {r} does not have {len(columns)} cells")
        if not all(isinstance(v, _SCALARS) for v in row):
            raise _bad(path, where, f"row {r} holds a nested value (cells must be numbers, strings or null)")
    for label in ("index_name", "columns_name"):
        if not isinstance(node.get(label), str | None):
            raise _bad(path, where, f"'{label}' must be a string")
    ints = all(isinstance(i, int) for i in index)
    idx = pd.Index(index, dtype=np.int64 if ints else object, name=node.get("index_name"))
    df = pd.DataFrame(data, index=idx, columns=columns)
    if node.get("columns_name") is not None:
        df.columns.name = node["columns_name"]
    dtypes = node.get("dtype") or {}
    if not isinstance(dtypes, dict):
        raise _bad(path, where, "'dtype' must map columns to dtype names")
    for col, dt in dtypes.items():
        if col not in df.columns:
            continue
        if not isinstance(dt, str) or dt not in _DTYPES:
            raise _bad(path, f"{where}.{col}", f"dtype {dt!r} is not one pandapower uses")
        try:
            df[col] = df[col].astype(dt)  # type: ignore[call-overload,arg-type]
        except (TypeError, ValueError) as err:
            raise _bad(path, f"{where}.{col}", f"values do not fit dtype {dt}: {err}") from None
    return df


def parse_network_json(text: str, path: str = "<string>") -> pp.pandapowerNet:
    """Build a pandapower network from JSON ``text`` by the allow-list above."""
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as err:
        raise GridAIDataError(
            f"network file {path} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}",
            file=path,
        ) from None
    named = (str(tree.get("_module")), str(tree.get("_class"))) if isinstance(tree, dict) else None
    if named != _NET_CLASS:
        what = f"it names {named[0]}.{named[1]}" if named and "_class" in tree else "no pandapowerNet object"
        raise GridAIDataError(
            f"network file {path} is not a pandapower network ({what}; expected what "
            "pandapower.to_json writes)",
            file=path,
        )
    body = tree.get("_object")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as err:
            raise _bad(path, "_object", f"not valid JSON ({err.msg})") from None
    if not isinstance(body, dict):
        raise _bad(path, "_object", "must be a mapping of element tables")
    net = pp.create_empty_network()
    for key, value in body.items():
        # pandapower writes nested tables as "outer|inner" (e.g. "std_types|line_dc")
        parts = key.split("|") if isinstance(key, str) else [key]
        if len(parts) > 2 or not all(isinstance(k, str) and _NAME.match(k) for k in parts):
            raise _bad(path, repr(key)[:40], "not a plain element name")
        if isinstance(value, dict) and ("_module" in value or "_class" in value):
            parsed = _table(value, path, key)
        else:
            parsed = _plain(value, path, key)
        if len(parts) == 1:
            net[key] = parsed
            continue
        outer = net.get(parts[0])
        if outer is None:
            net[parts[0]] = outer = {}
        if not isinstance(outer, dict):
            raise _bad(path, key, f"{parts[0]!r} is not a mapping to hold {parts[1]!r}")
        outer[parts[1]] = parsed
    if "bus" not in body or len(net.bus) == 0:
        raise GridAIDataError(f"network file {path} has no buses", file=path)
    fmt = str(body.get("format_version", ""))
    if fmt and fmt != str(pp.__format_version__):
        from pandapower.convert_format import convert_format

        try:
            convert_format(net)
        except Exception as err:  # noqa: BLE001 - pandapower raises many kinds
            raise GridAIDataError(
                f"network file {path} has format_version {fmt}, which pandapower "
                f"{pp.__version__} could not convert: {err}",
                file=path,
            ) from None
    return net


def read_network_json(path: str | Path) -> pp.pandapowerNet:
    """Read a user's pandapower JSON network without executing code or opening other files.

    Raises
    ------
    GridAIDataError
        The file is missing, larger than :data:`MAX_NETWORK_JSON_BYTES`, not UTF-8, not JSON,
        not a pandapower network, or names anything but element tables, scalars and plain data.
    """
    p = Path(path)
    if not p.is_file():
        raise GridAIDataError(f"network file {p} does not exist or is not a file", file=str(p))
    size = p.stat().st_size
    if size > MAX_NETWORK_JSON_BYTES:
        raise GridAIDataError(
            f"network file {p} is {size:,} bytes; the limit is {MAX_NETWORK_JSON_BYTES:,}", file=str(p)
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise GridAIDataError(f"network file {p} is not UTF-8 (byte {err.start})", file=str(p)) from None
    return parse_network_json(text, str(p))
