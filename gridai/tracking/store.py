"""The MLflow model store: runs, datasets, models without pickle, and the registry.

:class:`ModelStore` takes its ``MlflowClient`` as an argument and never sets MLflow's
global tracking URI, so two stores (say a test server and a SQLite file) can be used in
one process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai import __version__
from gridai.exceptions import GridAIModelError
from gridai.tracking import pyfunc
from gridai.tracking.config import TrackingConfig
from gridai.tracking.connection import default_artifact_location
from gridai.tracking.datasets import data_digest, load_dataset_entity
from gridai.tracking.errors import mlflow_errors
from gridai.tracking.loading import load_local_model

__all__ = [
    "LoggedForecaster",
    "ModelStore",
    "ResolvedModel",
    "data_digest",
    "load_local_model",
    "mlflow_errors",
]

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

logger = logging.getLogger(__name__)

TAG_PREFIX = "gridai."


@dataclass(frozen=True)
class LoggedForecaster:
    """A Forecaster logged as an MLflow model: ``model_uri`` is ``models:/<model_id>``."""

    model_id: str
    model_uri: str
    run_id: str


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model URI points: a registered version, a logged model, or a local directory."""

    uri: str
    name: str | None = None
    version: str | None = None
    run_id: str | None = None
    model_id: str | None = None
    local_path: str | None = None


class ModelStore:
    """Runs, models and the registry of one MLflow tracking store.

    Parameters
    ----------
    client:
        ``mlflow.MlflowClient`` bound to the tracking (and registry) URI.
    config:
        Experiment, registered model name, champion alias, promotion metric.
    loader:
        Loads a Forecaster from its saved directory; default the forecast registry's
        ``load_forecaster``.
    """

    def __init__(
        self,
        client: MlflowClient,
        config: TrackingConfig | None = None,
        loader: Callable[[Path], Any] | None = None,
    ) -> None:
        self.client = client
        self.config = config or TrackingConfig()
        self.loader = loader
        self._experiment_id: str | None = None

    @property
    def uri(self) -> str:
        """The tracking URI of the client."""
        return str(self.client.tracking_uri)

    # ------------------------------------------------------------------ runs
    def experiment_id(self) -> str:
        """ID of the configured experiment, created (with a local artifact root for SQLite) if absent."""
        if self._experiment_id is None:
            name = self.config.experiment
            with mlflow_errors(f"experiment {name!r}", self.uri):
                exp = self.client.get_experiment_by_name(name)
                if exp is None:
                    location = self.config.artifact_location or default_artifact_location(self.uri)
                    self._experiment_id = self.client.create_experiment(name, artifact_location=location)
                    logger.info(
                        "created MLflow experiment %s (artifacts: %s)", name, location or "server default"
                    )
                else:
                    self._experiment_id = exp.experiment_id
        return self._experiment_id

    @contextlib.contextmanager
    def run(self, run_name: str, tags: Mapping[str, str] | None = None) -> Iterator[str]:
        """Open a run (yielding its ID); it ends FINISHED, or FAILED when the block raises."""
        with mlflow_errors("start run", self.uri):
            run = self.client.create_run(
                self.experiment_id(),
                run_name=run_name,
                tags={f"{TAG_PREFIX}version": __version__, **(tags or {})},
            )
        run_id = run.info.run_id
        try:
            yield run_id
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.set_terminated(run_id, "FAILED")
            raise
        self.client.set_terminated(run_id, "FINISHED")

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Log flat parameters (values stringified, lists as JSON)."""
        from mlflow.entities import Param

        items = [
            Param(k, json.dumps(v) if isinstance(v, list | dict) else str(v))
            for k, v in sorted(params.items())
        ]
        for i in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[i : i + 100])

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log finite metrics (NaN/inf are skipped with a debug message) at ``step``."""
        import time

        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        items = []
        for k, v in metrics.items():
            if v is None or not np.isfinite(float(v)):
                logger.debug("metric %s=%r not logged (not finite)", k, v)
                continue
            items.append(Metric(k, float(v), ts, step or 0))
        for i in range(0, len(items), 500):
            self.client.log_batch(run_id, metrics=items[i : i + 500])

    def epoch_logger(self, run_id: str) -> Callable[[int, Mapping[str, float]], None]:
        """A ``on_epoch(epoch, metrics)`` callback logging each epoch's metrics with ``step=epoch``."""

        def on_epoch(epoch: int, metrics: Mapping[str, float]) -> None:
            self.log_metrics(run_id, {f"epoch/{k}": v for k, v in metrics.items()}, step=int(epoch))

        return on_epoch

    def log_dataset(self, run_id: str, load: xr.Dataset, source: str, context: str = "training") -> str:
        """Log the load data as a run input (``mlflow.log_input`` equivalent); return its SHA-256.

        The MLflow dataset digest is the first 32 hex digits of the SHA-256 of all values;
        the full digest is the run tag ``gridai.data.load_sha256``.
        """
        from mlflow.entities import DatasetInput, InputTag

        digest = data_digest(load)
        entity = load_dataset_entity(load, source, digest)
        self.client.log_inputs(
            run_id, datasets=[DatasetInput(entity, tags=[InputTag("mlflow.data.context", context)])]
        )
        self.client.set_tag(run_id, f"{TAG_PREFIX}data.load_sha256", digest)
        return digest

    def log_dict(self, run_id: str, obj: Any, artifact_file: str) -> None:
        """Log ``obj`` as a JSON artifact."""
        self.client.log_dict(run_id, obj, artifact_file)

    def log_artifacts(self, run_id: str, local_dir: str | Path, artifact_path: str | None = None) -> None:
        """Log the files of ``local_dir`` under ``artifact_path``."""
        self.client.log_artifacts(run_id, str(local_dir), artifact_path)

    # ---------------------------------------------------------------- models
    def log_forecaster(
        self,
        run_id: str,
        forecaster: Any,
        load: xr.Dataset,
        weather: xr.Dataset,
        example_day: pd.Timestamp,
        example_history_days: int = 9,
        name: str = "forecaster",
    ) -> LoggedForecaster:
        """Log a fitted Forecaster as an MLflow pyfunc model, without pickle.

        The model directory holds the Forecaster's own ``save`` output (JSON + safetensors),
        its checksums and input metadata, an ``MLmodel`` whose ``python_function`` flavour
        loads through :mod:`gridai.tracking.pyfunc`, a signature, and an input example
        forecasting ``example_day`` from ``example_history_days`` days of ``load``/``weather``.
        """
        import mlflow.pyfunc
        from mlflow.entities import LoggedModelOutput, LoggedModelStatus
        from mlflow.models import Model

        signature, example = pyfunc.signature_and_example(load, weather, example_day, example_history_days)
        with tempfile.TemporaryDirectory(prefix="gridai-model-") as tmp:
            payload = Path(tmp) / pyfunc.PAYLOAD_DIR
            (payload / pyfunc.FORECASTER_DIR).mkdir(parents=True)
            forecaster.save(payload / pyfunc.FORECASTER_DIR)
            pyfunc.check_no_pickle(payload / pyfunc.FORECASTER_DIR)
            (payload / pyfunc.INPUT_FILE).write_text(
                json.dumps(pyfunc.input_metadata(load, weather), indent=1), encoding="utf-8"
            )
            (payload / pyfunc.CHECKSUM_FILE).write_text(
                json.dumps(pyfunc.file_digests(payload / pyfunc.FORECASTER_DIR), indent=1), encoding="utf-8"
            )
            with mlflow_errors("log model", self.uri):
                logged = self.client.create_logged_model(
                    self.experiment_id(),
                    name=name,
                    source_run_id=run_id,
                    model_type="gridai-forecaster",
                    tags={f"{TAG_PREFIX}forecaster": type(forecaster).__name__},
                )
                model_dir = Path(tmp) / "model"
                mlflow.pyfunc.save_model(
                    path=str(model_dir),
                    loader_module="gridai.tracking.pyfunc",
                    data_path=str(payload),
                    signature=signature,
                    input_example=example,
                    pip_requirements=pyfunc.pip_requirements(),
                    mlflow_model=Model(
                        artifact_path=logged.artifact_location,
                        run_id=run_id,
                        model_uuid=logged.model_id,
                        model_id=logged.model_id,
                        metadata={"gridai_version": __version__, "serialization": "json+safetensors"},
                    ),
                )
                for cache in model_dir.rglob("__pycache__"):
                    shutil.rmtree(cache, ignore_errors=True)
                self.client.log_model_artifacts(logged.model_id, str(model_dir))
                self.client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
                self.client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
        logger.info("logged model %s of run %s", logged.model_id, run_id)
        return LoggedForecaster(logged.model_id, f"models:/{logged.model_id}", run_id)

    def register(self, logged: LoggedForecaster, tags: Mapping[str, str] | None = None) -> str:
        """Register ``logged`` as a new version of the configured model; return the version."""
        from mlflow.exceptions import MlflowException

        name = self.config.model_name
        with mlflow_errors(f"register {name}", self.uri):
            try:
                self.client.create_registered_model(name, description="gridai day-ahead load forecaster")
            except MlflowException as err:
                if err.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                    raise
            # The source is the logged model's artifact location, not models:/<id>: MLflow's
            # SQL registry resolves models:/<id> through the *global* tracking URI (a TODO in
            # mlflow/store/model_registry/sqlalchemy_store.py), which is not ours.
            artifact_location = self.client.get_logged_model(logged.model_id).artifact_location
            mv = self.client.create_model_version(
                name,
                source=artifact_location,
                run_id=logged.run_id,
                tags={k: str(v) for k, v in (tags or {}).items()},
                model_id=logged.model_id,
            )
        logger.info("registered %s version %s", name, mv.version)
        return str(mv.version)

    # ------------------------------------------------------------- resolving
    def model_version(self, version: str | int) -> ModelVersion:
        """One version of the configured registered model."""
        name = self.config.model_name
        with mlflow_errors(f"model URI models:/{name}/{version}", self.uri):
            return self.client.get_model_version(name, str(version))

    def versions(self) -> list[ModelVersion]:
        """All versions of the configured registered model, newest first."""
        name = self.config.model_name
        with mlflow_errors(f"versions of {name}", self.uri):
            found = self.client.search_model_versions(f"name = '{name}'")
        return sorted(found, key=lambda mv: int(mv.version), reverse=True)

    def aliases(self) -> dict[str, str]:
        """Alias -> version of the configured model (empty if it is not registered)."""
        try:
            with mlflow_errors("aliases", self.uri):
                rm = self.client.get_registered_model(self.config.model_name)
        except GridAIModelError:
            return {}
        return {str(k): str(v) for k, v in (rm.aliases or {}).items()}

    def alias_version(self, alias: str) -> str | None:
        """Version holding ``alias`` of the configured model, or ``None``."""
        from mlflow.exceptions import MlflowException

        try:
            with mlflow_errors("alias", self.uri):
                return str(self.client.get_model_version_by_alias(self.config.model_name, alias).version)
        except GridAIModelError:
            return None
        except MlflowException:
            return None

    def resolve(self, uri: str) -> ResolvedModel:
        """Resolve ``models:/name@alias``, ``models:/name/version``, ``models:/<model_id>`` or a local path.

        Raises
        ------
        GridAIModelError
            The registered model, alias, version or path does not exist.
        """
        if uri.startswith("runs:/"):
            return self._resolve_run(uri)
        if not uri.startswith("models:/"):
            path = Path(uri.removeprefix("file://"))
            if not path.exists():
                raise GridAIModelError(
                    f"model {uri} does not exist: expected models:/<name>@<alias>, models:/<name>/<version> "
                    "or a local model directory",
                    uri=uri,
                )
            return ResolvedModel(uri=uri, local_path=str(path))
        body = uri[len("models:/") :].strip("/")
        if "@" in body:
            name, alias = body.split("@", 1)
            with mlflow_errors(f"model URI {uri} does not exist", self.uri):
                mv = self.client.get_model_version_by_alias(name, alias)
        elif "/" in body:
            name, version = body.split("/", 1)
            with mlflow_errors(f"model URI {uri} does not exist", self.uri):
                mv = self.client.get_model_version(name, version)
        else:
            with mlflow_errors(f"model URI {uri} does not exist", self.uri):
                lm = self.client.get_logged_model(body)
            return ResolvedModel(uri=uri, run_id=lm.source_run_id, model_id=lm.model_id)
        return ResolvedModel(
            uri=uri, name=name, version=str(mv.version), run_id=mv.run_id, model_id=mv.model_id
        )

    def _resolve_run(self, uri: str) -> ResolvedModel:
        """``runs:/<run_id>[/<name>]``: the model logged by that run (named ``name`` if given)."""
        run_id, _, name = uri[len("runs:/") :].strip("/").partition("/")
        with mlflow_errors(f"model URI {uri} does not exist", self.uri):
            run = self.client.get_run(run_id)
            found = self.client.search_logged_models(
                experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'"
            )
        models = [m for m in found if not name or m.name == name]
        if not models:
            raise GridAIModelError(
                f"model URI {uri} does not exist: run {run_id} logged no model {name!r}", uri=uri
            )
        return ResolvedModel(uri=uri, run_id=run_id, model_id=models[0].model_id)

    def download(self, resolved: ResolvedModel, dst: str | Path) -> Path:
        """Download the MLflow model directory of ``resolved`` into ``dst``; return its path."""
        from mlflow.artifacts import download_artifacts

        if resolved.local_path is not None:
            return Path(resolved.local_path)
        # Download from the storage location, not from models:/ (MLflow resolves models:/
        # URIs through the global registry URI, which is not ours).
        with mlflow_errors(f"download {resolved.uri}", self.uri):
            if resolved.name is not None:
                source = self.client.get_model_version_download_uri(resolved.name, str(resolved.version))
            else:
                source = self.client.get_logged_model(str(resolved.model_id)).artifact_location
            local = download_artifacts(
                artifact_uri=source,
                dst_path=str(dst),
                tracking_uri=self.uri,
                registry_uri=str(self.client._registry_uri),
            )
        return Path(local)

    def load_forecaster(self, uri: str) -> tuple[Any, ResolvedModel]:
        """Load the Forecaster behind ``uri`` through gridai's own loader (no pickle).

        ``uri`` is a model URI or a local directory: an MLflow model directory, a payload
        directory, or a Forecaster's saved directory.

        Raises
        ------
        GridAIModelError
            The URI does not exist, or the artifact is corrupted or cannot be loaded.
        GridAIUnreachableError
            The tracking server cannot be reached.
        """
        resolved = self.resolve(uri)
        with tempfile.TemporaryDirectory(prefix="gridai-load-") as tmp:
            forecaster = load_local_model(self.download(resolved, tmp), self.loader)
        logger.info("loaded model %s%s", uri, f" (version {resolved.version})" if resolved.version else "")
        return forecaster, resolved
