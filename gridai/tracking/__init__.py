"""MLflow tracking for gridai: the tracking store, models logged without pickle, the registry.

* :mod:`~gridai.tracking.config` -- :class:`TrackingConfig` (URI, experiment, model name, alias, metric).
* :mod:`~gridai.tracking.connection` -- URI resolution, reachability check, the ``MlflowClient``.
* :mod:`~gridai.tracking.store` -- :class:`ModelStore`: runs, datasets, models, loading.
* :mod:`~gridai.tracking.pyfunc` -- gridai's pyfunc flavour (``loader_module``), no pickle.
* :mod:`~gridai.tracking.promotion` -- champion promotion and the alias history.
"""

from gridai.tracking.config import TrackingConfig
from gridai.tracking.connection import check_reachable, make_client, mlflow_http_limits, resolve_tracking_uri
from gridai.tracking.store import LoggedForecaster, ModelStore, ResolvedModel

__all__ = [
    "LoggedForecaster",
    "ModelStore",
    "ResolvedModel",
    "TrackingConfig",
    "check_reachable",
    "make_client",
    "mlflow_http_limits",
    "resolve_tracking_uri",
]
