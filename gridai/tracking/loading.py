"""Loading a Forecaster from a local directory: an MLflow model logged by gridai, or a saved Forecaster."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gridai.exceptions import GridAIModelError
from gridai.tracking import pyfunc

MLMODEL_FILE = "MLmodel"


def load_local_model(path: str | Path, loader: Callable[[Path], Any] | None = None) -> Any:
    """Load a Forecaster from a local directory, without a tracking store.

    ``path`` is an MLflow model directory logged by gridai (checksums verified), its
    ``data/payload`` directory, or a Forecaster's own saved directory.

    Raises
    ------
    GridAIModelError
        The path does not exist, is not a gridai model, or is corrupted.
    """
    local = Path(str(path).removeprefix("file://"))
    if not local.is_dir():
        raise GridAIModelError(
            f"model {path} does not exist: expected models:/<name>@<alias>, models:/<name>/<version> "
            "or a local model directory",
            uri=str(path),
        )
    payload = _payload_dir(local)
    if payload is None:
        return _load_plain(local, loader, str(path))
    forecaster, _ = pyfunc.load_payload(payload, loader)
    return forecaster


def model_directory_digest(path: str | Path) -> str:
    """SHA-256 of a model directory: of its files' relative paths and SHA-256 digests, sorted
    (what ``run.json`` records as ``model.sha256`` and ``model.sha256`` in a job config pins)."""
    h = hashlib.sha256()
    for rel, digest in sorted(pyfunc.file_digests(Path(path)).items()):
        h.update(f"{rel}\0{digest}\n".encode())
    return h.hexdigest()


def _payload_dir(local: Path) -> Path | None:
    if (local / pyfunc.CHECKSUM_FILE).exists():
        return local
    if (local / MLMODEL_FILE).exists():
        from mlflow.models import Model

        try:
            conf = Model.load(str(local / MLMODEL_FILE)).flavors.get("python_function", {})
        except Exception as err:  # noqa: BLE001 - a broken MLmodel is a corrupted artifact
            raise GridAIModelError(f"model artifact {local} has an unreadable MLmodel: {err}") from None
        if conf.get("loader_module") != "gridai.tracking.pyfunc":
            raise GridAIModelError(
                f"model {local} is not a gridai model (python_function loader_module "
                f"{conf.get('loader_module')!r}, expected 'gridai.tracking.pyfunc')",
                file=str(local / MLMODEL_FILE),
            )
        return local / str(conf["data"])
    return None


def _load_plain(local: Path, loader: Callable[[Path], Any] | None, uri: str) -> Any:
    try:
        return (loader or pyfunc.default_loader)(local)
    except GridAIModelError:
        raise
    except Exception as err:  # noqa: BLE001 - any loader failure means an unusable directory
        raise GridAIModelError(
            f"model directory {uri} cannot be loaded: {type(err).__name__}: {err}", file=uri
        ) from err
