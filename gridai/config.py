"""Typed configuration: pydantic models that forbid unknown keys, loaded from YAML.

Library functions take typed config objects, never nested dicts. YAML is read
only through :func:`load_config`, which turns every validation problem into a
:class:`~gridai.exceptions.GridAIConfigError` naming the key and the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from gridai.exceptions import GridAIConfigError


class StrictModel(BaseModel):
    """Base of every gridai config model: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


M = TypeVar("M", bound=BaseModel)


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<root>"
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown key '{loc}'")
        else:
            lines.append(f"key '{loc}': {e['msg']} (got {e.get('input')!r})")
    return f"invalid configuration in {source}: " + "; ".join(lines)


def parse_config(model: type[M], data: dict[str, Any], source: str = "<dict>") -> M:
    """Validate ``data`` against ``model``; errors name the key and ``source``."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        keys = [".".join(str(p) for p in e["loc"]) for e in err.errors()]
        raise GridAIConfigError(_format_validation_error(err, source), file=source, keys=keys) from None


def load_config(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it against ``model``.

    Raises
    ------
    GridAIConfigError
        The file does not exist, is a directory, is not valid YAML, is not a mapping,
        or fails validation (unknown key, wrong type). The message names the file and key.
    """
    p = Path(path)
    if not p.exists():
        raise GridAIConfigError(f"config file {p} does not exist", file=str(p))
    if p.is_dir():
        raise GridAIConfigError(f"config path {p} is a directory; expected a YAML file", file=str(p))
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise GridAIConfigError(f"config file {p} is not valid YAML: {err}", file=str(p)) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise GridAIConfigError(
            f"config file {p} must hold a mapping of keys, got {type(raw).__name__}", file=str(p)
        )
    return parse_config(model, raw, source=str(p))
