"""Make sure a champion exists before the day-ahead job (the demo's fresh-machine path).

When ``model.train_if_missing`` is set and the model URI names a registry alias
(``models:/<name>@<alias>``) that holds no version, a small model is trained with
``model.training_config`` through the training pipeline (backtest, MLflow run, registration)
and promoted to the alias. Anything that prevents it is logged and left to the job, which then
substitutes the baseline (flagged) rather than failing.
"""

from __future__ import annotations

import logging
from typing import Any

from gridai.exceptions import GridAIConfigError, GridAIError
from gridai.pipelines.dayahead.config import DayAheadConfig

logger = logging.getLogger(__name__)


def parse_alias_uri(uri: str) -> tuple[str, str] | None:
    """``models:/name@alias`` -> ``(name, alias)``; other URIs -> ``None``."""
    if not uri.startswith("models:/") or "@" not in uri:
        return None
    name, alias = uri[len("models:/") :].strip("/").split("@", 1)
    return name, alias


def ensure_champion(
    cfg: DayAheadConfig, client: Any | None, client_error: str | None = None
) -> dict[str, Any]:
    """Train and register a champion if the configured alias is empty; returns what was done.

    Parameters
    ----------
    client:
        ``MlflowClient`` of the tracking store (``None``: nothing can be trained or registered).
    """
    parsed = parse_alias_uri(cfg.model.uri)
    if parsed is None:
        return {"action": "none", "reason": "model URI is not a registry alias"}
    if client is None:
        return {"action": "none", "reason": f"tracking store unusable: {client_error}"}
    from gridai.config import load_config
    from gridai.pipelines.training import TrainConfig, read_training_data, train_and_register
    from gridai.tracking.promotion import promote
    from gridai.tracking.store import ModelStore

    name, alias = parsed
    tracking = cfg.tracking.model_copy(update={"model_name": name, "champion_alias": alias})
    store = ModelStore(client, tracking)
    try:
        existing = store.alias_version(alias)
    except GridAIError as err:
        return {"action": "none", "reason": str(err)}
    if existing is not None:
        return {"action": "none", "reason": f"{cfg.model.uri} is version {existing}"}
    if cfg.model.training_config is None:
        raise GridAIConfigError(
            "model.train_if_missing needs model.training_config", keys=["model.training_config"]
        )
    tcfg = load_config(TrainConfig, cfg.model.training_config)
    tcfg = tcfg.model_copy(update={"tracking": tcfg.tracking.model_copy(update={"model_name": name})})
    logger.info("no %s yet: training a champion with %s (one-off)", cfg.model.uri, cfg.model.training_config)
    train_store = ModelStore(client, tcfg.tracking.model_copy(update={"champion_alias": alias}))
    load, weather = read_training_data(tcfg.data)
    result = train_and_register(tcfg, train_store, load, weather, register=True)
    promotion = promote(train_store, result.version)
    logger.info(
        "trained %s version %s (system MAPE %.2f %%), champion: %s",
        name, result.version, float(result.metrics.get("system", {}).get("mape", float("nan"))), promotion.promoted,
    )  # fmt: skip
    return {
        "action": "trained",
        "version": result.version,
        "run_id": result.run_id,
        "promoted": promotion.promoted,
    }
