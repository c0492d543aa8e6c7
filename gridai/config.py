"""Typed configuration: pydantic models that forbid unknown keys, loaded from YAML.

Library functions take typed config objects, never nested dicts. YAML is read
only through :func:`load_config`, which turns every validation problem into a
:class:`~gridai.exceptions.GridAIConfigError` naming the key and the file.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import reprlib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from gridai.exceptions import GridAIConfigError

#: Largest config file read [bytes]; configs are hand-written YAML of a few kB.
MAX_CONFIG_BYTES = 1 << 20
#: Most YAML aliases (``*name``) a config may use; a larger count is how "billion laughs" bombs
#: start, and no gridai config needs more than a handful.
MAX_YAML_ALIASES = 100
#: Most values a config may hold once its aliases are expanded (a config has hundreds).
MAX_EXPANDED_VALUES = 100_000
#: Longest rendering of a bad value in an error message [characters].
MAX_VALUE_REPR = 120


class StrictModel(BaseModel):
    """Base of every gridai config model: unknown keys are errors, assignments are validated,
    and numbers must be finite (``.inf`` / ``.nan`` are rejected)."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, protected_namespaces=(), allow_inf_nan=False
    )


class _StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that rejects duplicate keys and bounds the number of aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                event = self.peek_event()
                raise yaml.constructor.ConstructorError(
                    None, None, f"more than {MAX_YAML_ALIASES} aliases (*name): refused", event.start_mark
                )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r} (first at line {seen[key].line + 1}); each key may appear once",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _short(value: Any) -> str:
    """A bounded rendering of ``value`` (never expands a large or aliased structure)."""
    r = reprlib.Repr()  # keyword arguments only from Python 3.12
    r.maxlevel, r.maxlist, r.maxdict, r.maxstring, r.maxother = 3, 6, 6, 60, 60
    text = r.repr(value)
    return text if len(text) <= MAX_VALUE_REPR else text[: MAX_VALUE_REPR - 3] + "..."


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Number of values in ``node`` with every alias expanded, counted in time linear in the
    number of distinct containers (shared ones are counted once and multiplied)."""
    if not isinstance(node, dict | list):
        return 1
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a recursive alias counts as one value; safe_load does not build cycles
        children = node.values() if isinstance(node, dict) else node
        total = 1
        for child in children:
            total += _expanded_size(child, memo)
            if total > MAX_EXPANDED_VALUES:
                break
        memo[key] = total
    return memo[key]


def _non_finite(node: Any, path: str = "", seen: set[int] | None = None) -> str | None:
    """The key path of the first non-finite number in ``node``, if any (each container once)."""
    if isinstance(node, float) and not math.isfinite(node):
        return path or "<root>"
    if not isinstance(node, dict | list):
        return None
    seen = set() if seen is None else seen
    if id(node) in seen:
        return None
    seen.add(id(node))
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        sub = (f"{path}.{k}" if path else str(k)) if isinstance(node, dict) else f"{path}[{k}]"
        found = _non_finite(v, sub, seen)
        if found:
            return found
    return None


def read_yaml(path: str | Path) -> Any:
    """Read a YAML config file strictly: UTF-8, bounded size and aliases, no duplicate keys,
    finite numbers. Errors name the file (and the line or key).

    Raises
    ------
    GridAIConfigError
        Missing file, a directory, too large, not UTF-8, not valid YAML, a duplicate key,
        too many aliases, or a non-finite number.
    """
    p = Path(path)
    if not p.exists():
        raise GridAIConfigError(f"config file {p} does not exist", file=str(p))
    if p.is_dir():
        raise GridAIConfigError(f"config path {p} is a directory; expected a YAML file", file=str(p))
    size = p.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise GridAIConfigError(
            f"config file {p} is {size:,} bytes; a gridai config is at most {MAX_CONFIG_BYTES:,} bytes",
            file=str(p),
        )
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GridAIConfigError(
            f"config file {p} is not UTF-8 (byte {err.start}: {data[err.start : err.start + 1]!r}); "
            "save it as UTF-8",
            file=str(p),
        ) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        raise GridAIConfigError(f"config file {p} is not valid YAML: {err}", file=str(p)) from None
    if _expanded_size(raw, {}) > MAX_EXPANDED_VALUES:
        raise GridAIConfigError(
            f"config file {p} expands (through its aliases *name) to more than "
            f"{MAX_EXPANDED_VALUES:,} values; a gridai config holds a few hundred: refused",
            file=str(p),
        )
    bad = _non_finite(raw)
    if bad:
        raise GridAIConfigError(
            f"config file {p}: key '{bad}' is not a finite number (.inf / .nan are not allowed)",
            file=str(p),
            keys=[bad],
        )
    return raw


M = TypeVar("M", bound=BaseModel)


def format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<root>"
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown key '{loc}'")
        else:
            lines.append(f"key '{loc}': {e['msg']} (got {_short(e.get('input'))})")
    return f"invalid configuration in {source}: " + "; ".join(lines)


def parse_config(model: type[M], data: dict[str, Any], source: str = "<dict>") -> M:
    """Validate ``data`` against ``model``; errors name the key and ``source``."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        keys = [".".join(str(p) for p in e["loc"]) for e in err.errors()]
        raise GridAIConfigError(format_validation_error(err, source), file=source, keys=keys) from None


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_date(text: str, option: str = "--date") -> dt.date:
    """A calendar day written ``YYYY-MM-DD``, nothing else.

    ``06/10/2008`` could be June 10 or October 6; a timestamp is not a day. Both are errors that
    name ``option`` and the expected form.

    Raises
    ------
    GridAIConfigError
        ``text`` is not an ISO date, or not a real calendar day.
    """
    value = str(text).strip()
    if not _ISO_DATE.match(value):
        raise GridAIConfigError(
            f"{option} {text!r} is not an ISO date: write the day as YYYY-MM-DD (e.g. 2008-06-30)",
            key=option,
        )
    try:
        return dt.date.fromisoformat(value)
    except ValueError as err:
        raise GridAIConfigError(f"{option} {text!r} is not a calendar day: {err}", key=option) from None


def load_config(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it against ``model``.

    Raises
    ------
    GridAIConfigError
        The file does not exist, is a directory, is not valid YAML, is not a mapping,
        or fails validation (unknown key, wrong type). The message names the file and key.
    """
    p = Path(path)
    raw = read_yaml(p)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise GridAIConfigError(
            f"config file {p} must hold a mapping of keys, got {type(raw).__name__}", file=str(p)
        )
    return parse_config(model, raw, source=str(p))
