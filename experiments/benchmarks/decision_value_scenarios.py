"""Scenario settings of the decision-value benchmark: which scenario method, and the seed per day.

gridai's scenario dispatch draws sampled load paths by default
(``gridai.dispatch.scenarios.copula_paths``, ``DispatchConfig.scenarios.method = "copula"``): per
zone, normal scores follow an AR(1) over the hours (``rho`` = 0.9, the library default, fixed a
priori and not tuned on the test days), mapped through each hour's forecast quantile function
(linear in the normal score between the forecast levels, linear beyond 0.1 / 0.9), 30 paths with
equal weights 1/30. The older comonotone method (``method = "quantile_paths"``: each quantile a
whole-day path, sorted per hour, midpoint weights) is kept as a comparison row: where the
quantile spread is nearly constant over the day its paths are the median shifted by a constant,
which does not change the best battery schedule, so it then plans like median dispatch. What a
demand charge is exposed to is the *shape* of the day: at which hour the peak comes.

Every day is planned with its own copula seed (``SEED + day number``), so the sampling error of
30 paths is not the same draw on all days.
"""

from __future__ import annotations

from typing import Any

SEED = 2008
#: benchmark plan mode -> (gridai dispatch mode, scenario method)
MODES: dict[str, tuple[str, str | None]] = {
    "deterministic": ("deterministic", None),
    "scenario": ("scenario", "copula"),
    "quantile_paths": ("scenario", "quantile_paths"),
}


def scenario_config(cfg: Any, mode: str, day: int) -> tuple[Any, str]:
    """The dispatch config and gridai mode of a benchmark plan ``mode`` on day number ``day``."""
    gridai_mode, method = MODES[mode]
    if method is None:
        return cfg, gridai_mode
    sc = cfg.scenarios.model_copy(update={"method": method, "seed": SEED + day})
    return cfg.model_copy(update={"scenarios": sc}), gridai_mode
