"""Registry of forecasters: names -> classes, construction from a config, loading an artifact."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from gridai.exceptions import GridAIConfigError, GridAIModelError
from gridai.forecast.base import ARTIFACT_ARRAYS, ARTIFACT_JSON, FORMAT_VERSION, Forecaster
from gridai.forecast.baselines import SeasonalNaive, VanillaMLR
from gridai.forecast.config import ForecastConfig
from gridai.forecast.global_nn import GlobalQuantileNN

logger = logging.getLogger(__name__)

MODELS: dict[str, type[Forecaster]] = {
    SeasonalNaive.name: SeasonalNaive,
    VanillaMLR.name: VanillaMLR,
    GlobalQuantileNN.name: GlobalQuantileNN,
}


def make_forecaster(cfg: ForecastConfig) -> Forecaster:
    """An unfitted forecaster of the model named by ``cfg.model``.

    Raises
    ------
    GridAIConfigError
        The model name is not registered (the message lists the registered names).
    """
    try:
        cls = MODELS[cfg.model]
    except KeyError:
        raise GridAIConfigError(
            f"unknown model {cfg.model!r}; registered models: {', '.join(sorted(MODELS))}", keys=["model"]
        ) from None
    return cls(cfg)


def load_forecaster(directory: Path | str) -> Forecaster:
    """Load a forecaster saved by :meth:`Forecaster.save` from ``directory``.

    Raises
    ------
    GridAIModelError
        The directory or one of its files is missing, unreadable or corrupt, or names an
        unknown model or format version.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    directory = Path(directory)
    meta_path, arr_path = directory / ARTIFACT_JSON, directory / ARTIFACT_ARRAYS
    for p in (meta_path, arr_path):
        if not p.is_file():
            raise GridAIModelError(f"model artifact incomplete: {p} does not exist", file=str(p))
    try:
        doc: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        expected = doc.get("arrays_sha256")
        if expected is not None:
            actual = hashlib.sha256(arr_path.read_bytes()).hexdigest()
            if actual != expected:
                raise GridAIModelError(
                    f"corrupt model weights: {arr_path} was altered or damaged: SHA-256 {actual} is not the {expected} recorded "
                    f"in {meta_path.name} when the model was saved; save or download the model again",
                    file=str(arr_path),
                )
        name = doc["model"]
        version = doc["format_version"]
        cfg = ForecastConfig.model_validate(doc["config"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as err:
        raise GridAIModelError(f"corrupt model artifact {meta_path}: {err}", file=str(meta_path)) from None
    if version != FORMAT_VERSION:
        raise GridAIModelError(
            f"model artifact {meta_path} has format version {version}; this gridai reads {FORMAT_VERSION}",
            file=str(meta_path),
        )
    if name not in MODELS:
        raise GridAIModelError(
            f"model artifact {meta_path} names unknown model {name!r}; registered: {sorted(MODELS)}",
            file=str(meta_path),
        )
    try:
        arrays = load_file(str(arr_path))
    except (SafetensorError, OSError, ValueError) as err:
        raise GridAIModelError(f"corrupt model weights {arr_path}: {err}", file=str(arr_path)) from None
    model = MODELS[name](cfg)
    try:
        model._restore(doc, arrays)
    except (KeyError, ValueError, RuntimeError, TypeError) as err:
        raise GridAIModelError(f"corrupt model artifact in {directory}: {err}", file=str(directory)) from None
    return model
