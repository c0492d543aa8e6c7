"""Dask for per-feeder work: a client from config, and a retry-safe keyed map.

* :func:`dask_client` gives a ``distributed.Client``: connected to ``scheduler`` when an address
  is given (a cluster), otherwise to a ``LocalCluster`` started for the run and closed after it.
  An unreachable scheduler, one that accepts connections and never answers within
  ``connect_timeout_s``, or one with no worker after ``worker_timeout_s`` raises
  :class:`~gridai.exceptions.GridAIUnreachableError` (exit 5) before any work starts.
* :func:`map_keyed` submits one task per item with a **deterministic key** derived from the run
  and the item name, and gathers the results into a dict keyed by item name. If a worker dies
  mid-task, the scheduler reruns that task on another worker (up to ``retries`` times); the key
  is the same, so a result can arrive at most once and is stored under its name exactly once.
  If the scheduler itself is lost mid-run (connection closed, no result within ``deadline_s``),
  :class:`ClusterLostError` carries the results that did arrive, so that the caller can run the
  rest in-process and flag it rather than lose the finished work.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import Field

from gridai.config import StrictModel
from gridai.exceptions import GridAIUnreachableError

logger = logging.getLogger(__name__)


class DaskConfig(StrictModel):
    """Where per-feeder tasks run."""

    scheduler: str | None = Field(
        None,
        description="Address of a running Dask scheduler (tcp://host:8786); none = start a LocalCluster.",
    )
    n_workers: int = Field(2, ge=1, description="Workers of the LocalCluster (ignored with a scheduler).")
    threads_per_worker: int = Field(1, ge=1, description="Threads per LocalCluster worker.")
    processes: bool = Field(
        True, description="LocalCluster workers as processes (true) or threads in this process (false)."
    )
    memory_limit: str = Field("auto", description="Memory limit per LocalCluster worker (Dask syntax).")
    retries: int = Field(2, ge=0, description="Times a task is rerun after its worker died or it raised.")
    connect_timeout_s: float = Field(
        10.0, gt=0, le=600, description="Seconds to wait for the scheduler to answer [s]."
    )
    worker_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Seconds to wait for a scheduler to have at least one worker [s]."
    )
    deadline_s: float = Field(
        3600.0,
        gt=0,
        le=86400,
        description="Longest wait for the per-feeder tasks of a run [s]; past it the scheduler counts as "
        "lost and the unfinished feeders run in-process (flagged).",
    )
    dashboard: bool = Field(False, description="Serve the Dask dashboard of the LocalCluster (needs bokeh).")


@contextlib.contextmanager
def dask_client(cfg: DaskConfig) -> Iterator[Any]:
    """A ``distributed.Client`` for the run, closed (and its LocalCluster stopped) on exit."""
    from distributed import Client, LocalCluster

    if cfg.scheduler:
        client = _connect(cfg)
        try:
            yield client
        finally:
            _close_quietly(client)
        return
    cluster = LocalCluster(
        n_workers=cfg.n_workers,
        threads_per_worker=cfg.threads_per_worker,
        processes=cfg.processes,
        memory_limit=cfg.memory_limit,
        dashboard_address=":0" if cfg.dashboard else None,
        host="127.0.0.1",
    )
    client = Client(cluster, set_as_default=False)
    logger.info("started a LocalCluster with %d workers", cfg.n_workers)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _connect(cfg: DaskConfig) -> Any:
    """Connect to ``cfg.scheduler`` within hard deadlines (the handshake itself can hang)."""
    from distributed import Client

    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            box["client"] = Client(cfg.scheduler, timeout=cfg.connect_timeout_s, set_as_default=False)
        except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = err

    worker = threading.Thread(target=attempt, name="gridai-dask-connect", daemon=True)
    worker.start()
    worker.join(cfg.connect_timeout_s + 2.0)
    if "client" not in box:
        reason = box.get("error") or f"no answer within {cfg.connect_timeout_s:g} s (connect_timeout_s)"
        raise GridAIUnreachableError(
            f"Dask scheduler {cfg.scheduler} is unreachable: {reason}; check the address, or run "
            "without --scheduler (LocalCluster) or with --no-dask",
            scheduler=cfg.scheduler,
        )
    client = box["client"]
    try:
        client.wait_for_workers(1, timeout=cfg.worker_timeout_s)
    except (TimeoutError, OSError) as err:
        _close_quietly(client)
        raise GridAIUnreachableError(
            f"Dask scheduler {cfg.scheduler} has no worker after {cfg.worker_timeout_s:g} s "
            f"(worker_timeout_s): start workers, or run with --no-dask ({type(err).__name__})",
            scheduler=cfg.scheduler,
        ) from None
    logger.info(
        "connected to Dask scheduler %s (%d workers)", cfg.scheduler, len(client.scheduler_info()["workers"])
    )
    return client


def _close_quietly(client: Any) -> None:
    with contextlib.suppress(Exception):
        client.close(timeout=5)


class ClusterLostError(RuntimeError):
    """The scheduler went away (or stopped answering) while tasks were running.

    Attributes
    ----------
    results:
        The results that arrived before it was lost, by item name.
    """

    def __init__(self, reason: str, results: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.results = results


def task_key(prefix: str, run_token: str, name: str) -> str:
    """Deterministic Dask key of one item's task: equal for a retry, distinct across items and runs."""
    digest = hashlib.sha1(f"{run_token}:{name}".encode()).hexdigest()[:16]
    return f"{prefix}-{name}-{digest}"


def map_keyed(
    client: Any,
    fn: Callable[..., Any],
    items: Mapping[str, Any],
    *,
    prefix: str,
    run_token: str,
    retries: int = 2,
    common: Mapping[str, Any] | None = None,
    on_done: Callable[[str, Any], None] | None = None,
    deadline_s: float | None = None,
) -> dict[str, Any]:
    """Run ``fn(item, **common)`` for every item on the cluster; results keyed by item name.

    Parameters
    ----------
    items:
        Work items by unique name (feeder name).
    run_token:
        Identifies the run; with the item name it makes each task key.
    common:
        Keyword arguments shared by every task (small: they are embedded in each task).
    on_done:
        Called with ``(name, result)`` as each task finishes (progress bars).
    deadline_s:
        Longest wait for all results [s]; ``None`` = no limit.

    Raises
    ------
    ClusterLostError
        The scheduler connection closed, or the deadline passed; holds the results so far.
    Exception
        The task's own exception once its retries are used up; ``KilledWorker`` when workers
        keep dying on it.
    """
    from distributed import as_completed

    # ``common`` travels inside each task (small configs), never as scattered data: a scattered
    # value has no recipe, so when the Active Memory Manager has trimmed it to one replica and
    # that worker dies, every task needing it is cancelled instead of rerun.
    common = dict(common or {})
    futures = {}
    for name, item in items.items():
        key = task_key(prefix, run_token, name)
        futures[key] = (name, client.submit(fn, item, key=key, retries=retries, pure=False, **common))
    by_future = {fut.key: name for name, fut in futures.values()}
    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    try:
        pending = as_completed([f for _, f in futures.values()], loop=client.loop, timeout=deadline_s)
        for fut in pending:
            name = by_future[fut.key]
            result = fut.result()
            if name in results:  # cannot happen with unique keys; guard the invariant anyway
                raise RuntimeError(f"duplicate result for {name!r}")
            results[name] = result
            if on_done is not None:
                on_done(name, result)
    except (OSError, TimeoutError, concurrent.futures.CancelledError) as err:
        # CommClosedError is an OSError; a lost scheduler cancels every future
        what = "timed out" if isinstance(err, TimeoutError) else f"was lost ({type(err).__name__}: {err})"
        raise ClusterLostError(
            f"Dask scheduler {what} after {len(results)} of {len(futures)} {prefix} tasks", dict(results)
        ) from err
    finally:
        with contextlib.suppress(Exception):
            for _, fut in futures.values():
                fut.release()
    logger.info("%d %s tasks done in %.2f s", len(results), prefix, time.perf_counter() - t0)
    return results


def run_local(
    fn: Callable[..., Any],
    items: Mapping[str, Any],
    *,
    common: Mapping[str, Any] | None = None,
    on_done: Callable[[str, Any], None] | None = None,
) -> dict[str, Any]:
    """The same contract as :func:`map_keyed`, in this process (no Dask)."""
    results: dict[str, Any] = {}
    for name, item in items.items():
        results[name] = fn(item, **dict(common or {}))
        if on_done is not None:
            on_done(name, results[name])
    return results
