"""Promotion of a registered version to champion, and the alias history MLflow does not keep.

A candidate becomes champion only if it beats the current champion on the configured
backtest metric *measured on the same backtest*: same test period, issue lead, weather
mode and the same test-period data (SHA-256). Every alias change is appended to the
registered model as a tag ``alias_history.<seq>.<random>`` holding one JSON record (who, when,
from, to, metrics, forced or not), so the history survives in the registry itself.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import logging
import socket
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from gridai.exceptions import GridAIModelError
from gridai.tracking.config import PROMOTION_METRICS
from gridai.tracking.store import ModelStore, mlflow_errors

logger = logging.getLogger(__name__)

HISTORY_TAG = "alias_history."
#: Version tags that define "the same backtest"; all must be equal for a comparison.
BACKTEST_KEYS = (
    "gridai.backtest.train_end",
    "gridai.backtest.test_end",
    "gridai.backtest.issue_lead_hours",
    "gridai.backtest.retrain_every_days",
    "gridai.backtest.weather",
    "gridai.backtest.test_data_sha256",
)


def metric_tag(metric: str) -> str:
    """Version tag holding a backtest metric, e.g. ``gridai.backtest.system_mape``."""
    return f"gridai.backtest.{metric}"


@dataclass
class PromotionResult:
    """Outcome of :func:`promote`.

    ``promoted`` is True when the alias moved; ``reason`` says why in plain words.
    """

    promoted: bool
    alias: str
    candidate: str
    previous: str | None
    metric: str
    candidate_value: float | None
    champion_value: float | None
    forced: bool
    reason: str
    mismatches: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


def _tags(store: ModelStore, version: str) -> dict[str, str]:
    return dict(store.model_version(version).tags)


def _value(tags: dict[str, str], metric: str) -> float | None:
    raw = tags.get(metric_tag(metric))
    try:
        return None if raw is None else float(raw)
    except ValueError:
        return None


def _actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (containers): still record the host
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def promote(
    store: ModelStore,
    version: str | int | None = None,
    *,
    force: bool = False,
    actor: str | None = None,
    now: dt.datetime | None = None,
) -> PromotionResult:
    """Move the champion alias to ``version`` (default: the newest) if it beats the champion.

    Parameters
    ----------
    store:
        Model store; its config names the model, alias and metric.
    version:
        Candidate version; ``None`` = the newest version.
    force:
        Move the alias even if the candidate is worse or not comparable (recorded as forced).
    actor, now:
        Who and when, for the history record; default ``user@host`` and the current UTC time.

    Returns
    -------
    PromotionResult
        ``promoted`` False (and the alias untouched) when the candidate does not beat the
        champion, the backtests differ, or the candidate already is the champion.

    Raises
    ------
    GridAIModelError
        The model or version does not exist, or the candidate has no recorded backtest metric
        (and ``force`` is not set).
    """
    cfg = store.config
    metric, alias = cfg.promotion_metric, cfg.champion_alias
    direction = PROMOTION_METRICS[metric]
    if version is None:
        versions = store.versions()
        if not versions:
            raise GridAIModelError(
                f"registered model {cfg.model_name!r} has no versions in {store.uri}; run `gridai train` first",
                model=cfg.model_name,
            )
        version = versions[0].version
    candidate = str(version)
    cand_tags = _tags(store, candidate)
    cand_value = _value(cand_tags, metric)
    previous = store.alias_version(alias)

    def result(promoted: bool, reason: str, champ_value: float | None = None, **kw: Any) -> PromotionResult:
        return PromotionResult(
            promoted,
            alias,
            candidate,
            previous,
            metric,
            cand_value,
            champ_value,
            force and promoted,
            reason,
            **kw,
        )

    if previous == candidate:
        return result(False, f"version {candidate} already is {alias!r}", cand_value)
    if cand_value is None and not force:
        raise GridAIModelError(
            f"version {candidate} of {cfg.model_name!r} has no backtest metric {metric!r} "
            f"(version tag {metric_tag(metric)!r}); it cannot be compared. Use --force to promote anyway",
            version=candidate,
        )
    champ_value: float | None = None
    if previous is not None:
        champ_tags = _tags(store, previous)
        champ_value = _value(champ_tags, metric)
        mismatches = {
            k: (cand_tags.get(k), champ_tags.get(k))
            for k in BACKTEST_KEYS
            if cand_tags.get(k) != champ_tags.get(k)
        }
        if mismatches and not force:
            detail = "; ".join(f"{k.split('.')[-1]}: {a} vs {b}" for k, (a, b) in mismatches.items())
            return result(
                False,
                f"version {candidate} and champion version {previous} were not backtested the same way "
                f"({detail}); they cannot be compared. Retrain on the same backtest, or use --force",
                champ_value,
                mismatches=mismatches,
            )
        if champ_value is not None and cand_value is not None and not force:
            better = cand_value < champ_value if direction == "min" else cand_value > champ_value
            if not better:
                return result(
                    False,
                    f"version {candidate} does not beat champion version {previous} on {metric}: "
                    f"{cand_value:.4g} vs {champ_value:.4g} ({'lower' if direction == 'min' else 'higher'} "
                    "is better); the champion stays. Use --force to promote anyway",
                    champ_value,
                )
    with mlflow_errors(f"set alias {alias!r}", store.uri):
        store.client.set_registered_model_alias(cfg.model_name, alias, candidate)
    if previous is None:
        reason = f"version {candidate} is the first {alias!r}"
    elif force:
        reason = f"version {candidate} forced to {alias!r} (was version {previous})"
    elif champ_value is None or cand_value is None:
        reason = f"version {candidate} replaces version {previous}, which has no recorded {metric}"
    else:
        reason = (
            f"version {candidate} beats version {previous} on {metric}: {cand_value:.4g} vs {champ_value:.4g}"
        )
    out = result(True, reason, champ_value)
    record_alias_change(store, out, actor=actor or _actor(), now=now)
    logger.info("%s", reason)
    return out


def record_alias_change(
    store: ModelStore, result: PromotionResult, *, actor: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Append one alias-change record to the registered model's tags; return the record."""
    history = alias_history(store)
    seq = (max((int(r["seq"]) for r in history), default=0)) + 1
    record = {
        "seq": seq,
        "alias": result.alias,
        "from_version": result.previous,
        "to_version": result.candidate,
        "at": (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "by": actor,
        "forced": result.forced,
        "metric": result.metric,
        "candidate_value": result.candidate_value,
        "champion_value": result.champion_value,
        "reason": result.reason,
    }
    with mlflow_errors("record alias history", store.uri):
        store.client.set_registered_model_tag(
            # A random suffix: two concurrent promotions never overwrite each other's record.
            store.config.model_name,
            f"{HISTORY_TAG}{seq:06d}.{uuid.uuid4().hex[:8]}",
            json.dumps(record, sort_keys=True),
        )
    return record


def alias_history(store: ModelStore) -> list[dict[str, Any]]:
    """All recorded alias changes of the configured model, oldest first (empty if none)."""
    from mlflow.exceptions import MlflowException

    try:
        with mlflow_errors("alias history", store.uri):
            tags = store.client.get_registered_model(store.config.model_name).tags
    except (GridAIModelError, MlflowException):
        return []
    records = [json.loads(v) for k, v in tags.items() if k.startswith(HISTORY_TAG)]
    return sorted(records, key=lambda r: (int(r["seq"]), str(r["at"])))


def result_dict(result: PromotionResult) -> dict[str, Any]:
    """JSON-ready view of a promotion result."""
    return asdict(result)
