"""The one call of pandapower's AC power flow in gridai.

Every AC check (dispatch plan check, feeder health, restoration verification) runs
``pandapower.runpp`` through :func:`power_flow`, so that non-convergence means the same thing
everywhere: Newton-Raphson not converging (``pandapower.LoadflowNotConverged``, e.g. voltage
collapse under heavy load) is an outcome, ``converged=False``; any other failure of the power
flow (a network pandapower cannot build a case from: no reference bus, bad tables) is a
:class:`PowerFlowError`, a :class:`~gridai.exceptions.GridAIError` naming the pandapower error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from gridai.exceptions import GridAIError

logger = logging.getLogger(__name__)


class PowerFlowError(GridAIError):
    """pandapower's power flow failed for a reason other than non-convergence.

    ``details``: ``error_type`` (the pandapower/Python exception class name), ``n_bus``.
    """


@dataclass(frozen=True)
class PowerFlowResult:
    """Outcome of one AC power flow (the numbers are in ``net.res_*``, as pandapower writes them).

    Attributes
    ----------
    converged:
        Newton-Raphson converged; ``net.res_*`` hold this solution.
    error_type:
        ``"LoadflowNotConverged"`` when it did not converge, else ``""``.
    message:
        pandapower's message when it did not converge.
    """

    converged: bool
    error_type: str = ""
    message: str = ""


def power_flow(net: Any, **options: Any) -> PowerFlowResult:
    """Run ``pandapower.runpp(net, **options)`` (in place: results land in ``net.res_*``).

    Parameters
    ----------
    net:
        pandapower network.
    **options:
        Passed to ``pandapower.runpp`` as given (``algorithm``, ``init``, ``max_iteration``,
        ``numba``, ``check_connectivity``, ...): each caller keeps its own solver settings.

    Returns
    -------
    PowerFlowResult
        ``converged=False`` when pandapower raises ``LoadflowNotConverged``.

    Raises
    ------
    PowerFlowError
        Any other exception from ``runpp`` (chained as its cause).
    """
    import pandapower as pp  # seconds to import: only when a power flow is run

    try:
        pp.runpp(net, **options)
    except pp.LoadflowNotConverged as err:
        logger.debug("AC power flow did not converge: %s", err)
        return PowerFlowResult(converged=False, error_type=type(err).__name__, message=str(err))
    except Exception as err:
        raise PowerFlowError(
            f"AC power flow failed ({type(err).__name__}): {err}",
            error_type=type(err).__name__,
            n_bus=len(net.bus),
        ) from err
    return PowerFlowResult(converged=True)
