"""Resolve the tracking URI, check the server is reachable, and build the MLflow client.

Nothing here touches MLflow's global state: the client is built for one URI and passed
to :class:`~gridai.tracking.store.ModelStore`. The only environment change is
:func:`mlflow_http_limits`, a context manager that bounds MLflow's HTTP retries and
timeouts for the duration of a ``with`` block and restores the previous values after.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlparse

from gridai.exceptions import GridAIConfigError, GridAIUnreachableError
from gridai.tracking.config import TrackingConfig

logger = logging.getLogger(__name__)

DEFAULT_DB_NAME = "mlflow.db"
HTTP_SCHEMES = ("http", "https")
#: URI schemes gridai hands to MLflow; anything else is a configuration error, said at once.
SUPPORTED_SCHEMES = ("", "file", "sqlite", "http", "https", "postgresql", "mysql", "mssql", "databricks")
#: Attempts to open a store whose first use races another process's schema migration.
OPEN_ATTEMPTS = 3


def resolve_tracking_uri(
    configured: str | None,
    environ: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> str:
    """Tracking URI by precedence: ``configured`` > ``MLFLOW_TRACKING_URI`` > SQLite in ``cwd``.

    Parameters
    ----------
    configured:
        Value from the config (``TrackingConfig.tracking_uri``); empty means unset.
    environ:
        Environment to read ``MLFLOW_TRACKING_URI`` from; default ``os.environ``.
    cwd:
        Directory of the default ``mlflow.db``; default the working directory.

    Returns
    -------
    str
        The URI; the default is ``sqlite:///<absolute cwd>/mlflow.db`` so that it means the
        same file wherever it is later read.
    """
    if configured:
        return configured
    env = os.environ if environ is None else environ
    if env.get("MLFLOW_TRACKING_URI"):
        return env["MLFLOW_TRACKING_URI"]
    base = Path(cwd) if cwd is not None else Path.cwd()
    return f"sqlite:///{(base / DEFAULT_DB_NAME).resolve()}"


def sqlite_path(uri: str) -> Path | None:
    """File of a ``sqlite:///`` URI (``None`` for other URIs or an in-memory database)."""
    if not uri.startswith("sqlite:///"):
        return None
    rest = uri[len("sqlite:///") :].split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def default_artifact_location(uri: str) -> str | None:
    """Artifact location of a new experiment: ``mlartifacts`` next to a SQLite file, else the store's."""
    db = sqlite_path(uri)
    if db is None:
        return None
    return (db.resolve().parent / "mlartifacts").as_uri()


def check_reachable(uri: str, timeout_s: float = 5.0) -> None:
    """Fail fast, with a clear error, when the tracking store at ``uri`` cannot be used.

    HTTP(S) servers are probed once at ``/health`` with a ``timeout_s`` deadline and no
    retries; for SQLite the directory of the database file must exist.

    Raises
    ------
    GridAIUnreachableError
        The server refused the connection, timed out, or did not answer ``/health`` with 200.
    GridAIConfigError
        The directory of a SQLite database does not exist.
    """
    scheme = urlparse(uri).scheme
    if scheme in HTTP_SCHEMES:
        import requests

        url = uri.rstrip("/") + "/health"
        t0 = time.monotonic()
        try:
            response = requests.get(url, timeout=timeout_s)
        except requests.RequestException as err:
            elapsed = time.monotonic() - t0
            raise GridAIUnreachableError(
                f"MLflow tracking server {uri} is unreachable ({type(err).__name__} after {elapsed:.1f} s). "
                "Start it (e.g. `mlflow server --host 127.0.0.1 --port 5000`), or set "
                "tracking.tracking_uri / MLFLOW_TRACKING_URI to a reachable server or a sqlite:/// file.",
                uri=uri,
                elapsed_s=elapsed,
            ) from None
        if response.status_code != 200:
            raise GridAIUnreachableError(
                f"MLflow tracking server {uri} answered /health with HTTP {response.status_code}; "
                "is it an MLflow server?",
                uri=uri,
                status=response.status_code,
            )
        logger.debug("tracking server %s reachable in %.2f s", uri, time.monotonic() - t0)
        return
    db = sqlite_path(uri)
    if db is not None and not db.resolve().parent.is_dir():
        raise GridAIConfigError(
            f"tracking URI {uri}: directory {db.resolve().parent} of the SQLite database does not exist",
            uri=uri,
        )


@contextlib.contextmanager
def mlflow_http_limits(timeout_s: int, max_retries: int) -> Iterator[None]:
    """Bound MLflow's HTTP request timeout and retries inside the ``with`` block.

    MLflow reads ``MLFLOW_HTTP_REQUEST_TIMEOUT`` / ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` at
    each request; its defaults (120 s, 7 retries with exponential back-off) make a dead
    server hang a command for minutes. The previous values are restored on exit.
    """
    values = {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(int(timeout_s)),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(int(max_retries)),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def make_client(cfg: TrackingConfig, environ: Mapping[str, str] | None = None, check: bool = True):  # type: ignore[no-untyped-def]
    """Build an ``MlflowClient`` for the URI resolved from ``cfg`` (checked reachable first).

    Returns
    -------
    mlflow.MlflowClient
    """
    uri = resolve_tracking_uri(cfg.tracking_uri, environ)
    registry = cfg.registry_uri or uri
    for which, u in (("tracking", uri), ("registry", registry)):
        scheme = urlparse(u).scheme.split("+", 1)[0]
        if scheme not in SUPPORTED_SCHEMES:
            raise GridAIConfigError(
                f"{which} URI {u!r} has an unsupported scheme {scheme!r}; use one of "
                f"{', '.join(s + '://' for s in SUPPORTED_SCHEMES if s)} or a local path",
                key=f"tracking.{which}_uri",
            )
    if check:
        check_reachable(uri, cfg.connect_timeout_s)
    from mlflow import MlflowClient  # imported after the check: a dead server fails before this import

    logger.debug("MLflow tracking URI %s, registry URI %s", uri, registry)
    last: Exception | None = None
    for attempt in range(OPEN_ATTEMPTS):
        try:
            client = MlflowClient(tracking_uri=uri, registry_uri=registry)
            if sqlite_path(uri) is not None:
                client.search_experiments(max_results=1)  # opens (and if new, migrates) the database
            return client
        except GridAIUnreachableError:
            raise
        except Exception as err:  # noqa: BLE001 - MLflow and SQLAlchemy raise many kinds
            last = err
            text = str(err).lower()
            if "already exists" in text or "locked" in text:  # another first run is migrating it
                time.sleep(0.5 * (attempt + 1))
                continue
            break
    first = str(last).splitlines()[0][:300] if last is not None else "unknown error"
    raise GridAIUnreachableError(
        f"tracking store {uri} is unusable: {type(last).__name__}: {first}; fix or move the store "
        "(a file that is not an MLflow database, a read-only or corrupt store), or set "
        "tracking.tracking_uri / MLFLOW_TRACKING_URI to another one",
        uri=uri,
    )
