"""Time-series AC power flow: every interval (and every case) of a feeder in one call.

pandapower builds its internal model once (one :func:`~gridai.grid.powerflow.power_flow` call on
the network as it is); its bus admittance matrix ``Ybus``, branch matrices ``Yf``/``Yt`` and bus
and branch lookups are then reused for all intervals, which differ only in their load, static
generator and extra bus injections. The Newton-Raphson solve of all intervals is vectorised
(:mod:`gridai.grid.newton_batch`) and converges to pandapower's solution (same equations; the
mismatch test is in MVA, where pandapower compares ``tolerance_mva`` with its per-unit mismatch, so
ours is the stricter when ``sn_mva > 1``); results are computed as pandapower's ``results_branch``.

Everything ``Ybus`` holds is handled exactly as in the network: transformer tap positions and
phase shifts, shunts, open switches, out-of-service elements, ext_grid (and PV generator) voltage
set points and generator active power (all fixed over the intervals). Loads with constant-current
/ constant-impedance parts follow pandapower's ZIP convention (the bus's fractions, the mean of its
loads' percentages, apply to the bus's net demand, when ``voltage_depend_loads``). Refused with a
:class:`~gridai.exceptions.GridAIDataError`: FACTS devices (SVC, TCSC, SSC, VSC), DC buses, and
the power-flow options ``distributed_slack``, ``enforce_q_lims``, ``enforce_p_lims``, ``tdpf``
(they make the equations depend on the solution beyond ``Ybus``). Reported per line and two-winding
trafo; three-winding trafos, impedances and xwards count in ``losses_mw`` only. Generators keep
their ``p_mw`` and ``vm_pu``, reactive limits are not enforced (pandapower's default).

Example::

    res = solve_timeseries(net, load_scale=profile)       # profile: (96,) [-]
    res.vm_pu.min(axis=1)                                   # (96,) lowest voltage [pu]
    model = TimeseriesPowerFlow.from_net(net)              # or prepare once, solve often
    res = model.solve(load_p_mw=cases_p, bus_p_mw=battery)  # (3, 96, n_load), (3, 96, n_bus)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from gridai.exceptions import GridAIDataError
from gridai.grid.newton_batch import BoolArray, FloatArray, IntArray, solve_batch
from gridai.grid.powerflow import PowerFlowError, power_flow
from gridai.grid.ppc_model import PpcModel, network_results, read_ppc_model

logger = logging.getLogger(__name__)

#: pandapower tables whose in-service rows make the power flow depend on more than ``Ybus``.
UNSUPPORTED_TABLES = ("svc", "tcsc", "ssc", "vsc", "bus_dc", "line_dc")
#: ``net._options`` flags that would change the equations between intervals.
UNSUPPORTED_OPTIONS = ("distributed_slack", "enforce_q_lims", "enforce_p_lims", "tdpf")


@dataclass(frozen=True)
class TimeseriesResult:
    """AC power flow of ``shape`` intervals (e.g. ``(T,)`` or ``(cases, T)``).

    Attributes
    ----------
    bus, line, trafo:
        pandapower indices of the columns below (``net.bus.index`` ...).
    vm_pu, va_degree:
        ``shape + (n_bus,)`` bus voltage magnitude [pu] and angle [degree]; NaN for buses out of
        service or not supplied (as pandapower).
    line_loading_percent:
        ``shape + (n_line,)`` higher of the two end currents over ``max_i_ka * df * parallel`` [%];
        0 for an out-of-service line, NaN when an end bus is not supplied.
    trafo_loading_percent:
        ``shape + (n_trafo,)`` pandapower's ``trafo_loading`` ("current": higher of the rated-current
        ratios of the two sides; "power"), divided by ``parallel * df`` [%].
    losses_mw:
        ``shape`` active losses of all branches (lines, trafos, impedances, ...) [MW].
    converged:
        ``shape``: Newton-Raphson converged (mismatch below ``tolerance_mva``). The numbers of a
        non-converged interval are its last iterate; do not use them.
    iterations:
        ``shape``: chord and Newton iterations taken.
    mismatch_mva:
        ``shape``: final largest power mismatch [MVA].
    """

    bus: IntArray
    line: IntArray
    trafo: IntArray
    vm_pu: FloatArray
    va_degree: FloatArray
    line_loading_percent: FloatArray
    trafo_loading_percent: FloatArray
    losses_mw: FloatArray
    converged: BoolArray
    iterations: IntArray
    mismatch_mva: FloatArray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.converged.shape)

    @property
    def not_converged(self) -> list[tuple[int, ...]]:
        """Index (into ``shape``) of every interval that did not converge."""
        return [tuple(int(i) for i in ix) for ix in np.argwhere(~self.converged)]

    def describe_failures(self, limit: int = 10) -> str:
        """Plain words naming the intervals that did not converge ("" when all did)."""
        bad = self.not_converged
        if not bad:
            return ""
        shown = ", ".join(
            f"{ix if len(ix) != 1 else ix[0]} (mismatch {self.mismatch_mva[ix]:.3g} MVA)"
            for ix in bad[:limit]
        )
        more = f" (+{len(bad) - limit} more)" if len(bad) > limit else ""
        return (
            f"AC power flow did not converge in {len(bad)} of {self.converged.size} intervals: {shown}{more}"
        )


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    """threadpoolctl's handle on the loaded BLAS libraries (built once: it costs ~3 ms), or None."""
    try:
        from threadpoolctl import ThreadpoolController  # installed with mlflow's scikit-learn
    except ImportError:
        return None
    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """Limit BLAS to one thread inside the block (restored after).

    SuperLU's solve with many right-hand sides calls BLAS-3 kernels; OpenBLAS threads on a busy
    2-core machine (or one core per Dask worker) made the same case33bw x 288 solve take 15-230 ms
    instead of 5.6 ms single-threaded.
    """
    controller = _blas_controller()
    return contextlib.nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def _incidence(pos: IntArray, n: int) -> sp.csr_matrix:
    """``(n, len(pos))`` 0/1 matrix: element ``e`` sits at internal bus ``pos[e]`` (-1: inactive)."""
    on = np.flatnonzero(pos >= 0)
    return sp.csr_matrix((np.ones(len(on)), (pos[on], on)), shape=(n, len(pos)))


def _effective(table: Any) -> tuple[FloatArray, FloatArray]:
    """Active / reactive power the way pandapower uses it: ``p_mw * scaling`` [MW, Mvar]."""
    if not len(table):
        return np.zeros(0), np.zeros(0)
    s = table["scaling"].to_numpy(float)
    return table["p_mw"].to_numpy(float) * s, table["q_mvar"].to_numpy(float) * s


def _check_supported(net: Any) -> None:
    for table in UNSUPPORTED_TABLES:
        if table in net and len(net[table]) and bool(np.any(net[table].get("in_service", True))):
            raise GridAIDataError(
                f"time-series power flow: the network has in-service '{table}' elements, which it does "
                "not support (their state depends on the solution); use pandapower's runpp per interval",
                unsupported=table,
            )


def _check_options(net: Any) -> None:
    opts = net._options
    bad = [k for k in UNSUPPORTED_OPTIONS if opts.get(k)]
    if bad or opts.get("mode", "pf") != "pf" or not opts.get("ac", True):
        raise GridAIDataError(
            "time-series power flow supports pandapower's balanced AC power flow without "
            f"{', '.join(UNSUPPORTED_OPTIONS)}; got {bad or opts.get('mode')}",
            unsupported=bad or [str(opts.get("mode"))],
        )


class TimeseriesPowerFlow:
    """A network prepared for time-series AC power flow (pandapower run once, its model kept).

    Build with :meth:`from_net`; :meth:`solve` then takes per-interval injections.
    """

    def __init__(self, model: PpcModel, net: Any, solved: Any | None = None) -> None:
        """``model`` read from ``solved`` (default ``net``), the base case's loads and sgens from ``net``."""
        solved = net if solved is None else solved
        self.model = model
        n = model.grid.n_bus
        self.c_load, self.c_sgen, self.c_bus = (
            _incidence(p, n) for p in (model.load_pos, model.sgen_pos, model.bus_pos)
        )
        self.load_p0, self.load_q0 = _effective(net.load)
        self.sgen_p0, self.sgen_q0 = _effective(net.sgen)
        # demand of everything else (motors, storage, wards, ...): the bus total less loads and sgens
        lp, lq = _effective(solved.load)
        gp, gq = _effective(solved.sgen)
        self.sd_other = (
            model.sd0_pu - (self.c_load @ (lp + 1j * lq) - self.c_sgen @ (gp + 1j * gq)) / model.base_mva
        )

    @classmethod
    def from_net(cls, net: Any, **pf_options: Any) -> TimeseriesPowerFlow:
        """Run pandapower once on ``net`` (results land in ``net.res_*``) and keep its model.

        Parameters
        ----------
        net:
            pandapower network; loads, sgens and generators as they are give the base case.
        **pf_options:
            Passed to :func:`~gridai.grid.powerflow.power_flow` for this one call (defaults
            ``numba=False``: its first compilation costs seconds; ``init="dc"``: the start that
            copes with phase-shifting transformers, without ``"auto"``'s table queries). Options
            that change the model (``trafo_model``, ``voltage_depend_loads``, ``trafo_loading``,
            ``check_connectivity``) hold for every interval; :meth:`solve` has its own tolerance.
            If the base case does not converge, the model is built from a copy without load.

        Raises
        ------
        GridAIDataError
            Unsupported elements or options (see the module docstring).
        PowerFlowError
            pandapower cannot build the network's model, or it does not converge even unloaded.
        """
        import copy

        _check_supported(net)
        options = {"numba": False, "init": "dc"} | pf_options
        if not power_flow(net, **options).converged:
            # the model does not depend on the loads: build it from an unloaded copy
            work = copy.deepcopy(net)
            for table in ("load", "sgen"):
                work[table]["scaling"] = 0.0
            if not power_flow(work, **options).converged:
                raise PowerFlowError(
                    "time-series power flow: pandapower does not converge on the network even "
                    "without loads and static generators",
                    error_type="LoadflowNotConverged",
                    n_bus=len(net.bus),
                )
            _check_options(work)
            return cls(read_ppc_model(work), net, work)
        _check_options(net)
        return cls(read_ppc_model(net), net)

    def solve(
        self,
        *,
        load_scale: ArrayLike | None = None,
        load_p_mw: ArrayLike | None = None,
        load_q_mvar: ArrayLike | None = None,
        sgen_scale: ArrayLike | None = None,
        sgen_p_mw: ArrayLike | None = None,
        sgen_q_mvar: ArrayLike | None = None,
        bus_p_mw: ArrayLike | None = None,
        bus_q_mvar: ArrayLike | None = None,
        tolerance_mva: float = 1e-8,
        max_iteration: int = 10,
    ) -> TimeseriesResult:
        """Solve every interval; inputs broadcast over a common leading ``shape``.

        Parameters
        ----------
        load_scale:
            ``shape``: one factor per interval on every load's ``p_mw * scaling`` and
            ``q_mvar * scaling`` [-]. Exclusive with ``load_p_mw``.
        load_p_mw, load_q_mvar:
            ``shape + (n_load,)``: demand of each load (``net.load`` row order) [MW, Mvar]; it
            replaces ``p_mw * scaling``. Without ``load_q_mvar`` each load keeps its power factor
            (a load with zero base ``p_mw`` keeps its ``q_mvar``).
        sgen_scale, sgen_p_mw, sgen_q_mvar:
            The same for static generators (``net.sgen``, generation positive).
        bus_p_mw, bus_q_mvar:
            ``shape + (n_bus,)``: extra injection at each bus (``net.bus`` row order; generation,
            e.g. battery discharge, positive) [MW, Mvar]. They count like an sgen at the bus.
        tolerance_mva:
            Largest power mismatch of a converged interval [MVA] (pandapower's default value).
        max_iteration:
            Full Newton-Raphson iterations at most for an interval the chord stage hands over.

        Returns
        -------
        TimeseriesResult
            Non-convergence is reported in ``converged`` (and logged), not raised.

        Raises
        ------
        GridAIDataError
            Inputs of the wrong shape, non-finite, or ``*_scale`` given with ``*_p_mw``.
        """
        arrays = {
            k: None if v is None else np.asarray(v, dtype=float)
            for k, v in dict(
                load_scale=load_scale, load_p_mw=load_p_mw, load_q_mvar=load_q_mvar,
                sgen_scale=sgen_scale, sgen_p_mw=sgen_p_mw, sgen_q_mvar=sgen_q_mvar,
                bus_p_mw=bus_p_mw, bus_q_mvar=bus_q_mvar,
            ).items()
        }  # fmt: skip
        shape = self._shape(arrays)
        k = math.prod(shape)
        lp, lq = self._element_pq(arrays, "load", self.load_p0, self.load_q0, shape)
        gp, gq = self._element_pq(arrays, "sgen", self.sgen_p0, self.sgen_q0, shape)
        m = self.model
        n_bus = len(m.bus)
        bp = self._per_element(arrays["bus_p_mw"], n_bus, shape)
        bq = self._per_element(arrays["bus_q_mvar"], n_bus, shape)
        s_load = (lp + 1j * lq).reshape(k, -1)
        s_gen = (gp + 1j * gq).reshape(k, -1)
        s_bus = (bp + 1j * bq).reshape(k, -1)
        # (K, n) demand per internal bus: (C @ S.T).T == S @ C.T
        sd = (
            self.sd_other
            + (s_load @ self.c_load.T - s_gen @ self.c_sgen.T - s_bus @ self.c_bus.T) / m.base_mva
        )
        with one_blas_thread():
            out = solve_batch(
                m.grid,
                np.ascontiguousarray(sd),
                m.v0,
                m.sd0_pu,
                tolerance_pu=tolerance_mva / m.base_mva,
                max_iteration=max_iteration,
            )
        result = TimeseriesResult(
            bus=m.bus,
            line=m.line,
            trafo=m.trafo,
            **{k: a.reshape(shape + a.shape[1:]) for k, a in network_results(m, out.v).items()},
            converged=out.converged.reshape(shape),
            iterations=out.iterations.reshape(shape),
            mismatch_mva=(out.mismatch_pu * m.base_mva).reshape(shape),
        )
        if not out.converged.all():
            logger.warning("%s", result.describe_failures())
        return result

    # ------------------------------------------------------------------------------- inputs
    def _n(self, name: str) -> int:
        return {"load": len(self.load_p0), "sgen": len(self.sgen_p0), "bus": len(self.model.bus)}[
            name.split("_")[0]
        ]

    def _shape(self, arrays: dict[str, Any]) -> tuple[int, ...]:
        leading = []
        for name, a in arrays.items():
            if a is None:
                continue
            if not np.all(np.isfinite(a)):
                raise GridAIDataError(f"time-series power flow: {name} has non-finite values", parameter=name)
            if name.endswith("_scale"):
                leading.append(a.shape)
                continue
            if a.ndim < 1 or a.shape[-1] != self._n(name):
                raise GridAIDataError(
                    f"time-series power flow: {name} must be shaped (..., {self._n(name)}), got {a.shape}",
                    parameter=name,
                )
            leading.append(a.shape[:-1])
        for kind in ("load", "sgen"):
            if arrays[f"{kind}_scale"] is not None and arrays[f"{kind}_p_mw"] is not None:
                raise GridAIDataError(
                    f"time-series power flow: give {kind}_scale or {kind}_p_mw, not both",
                    parameter=f"{kind}_scale",
                )
        try:
            return tuple(np.broadcast_shapes(*leading)) if leading else ()
        except ValueError as err:
            raise GridAIDataError(
                f"time-series power flow: input shapes do not broadcast ({err})", parameter="shape"
            ) from err

    @staticmethod
    def _per_element(a: FloatArray | None, n: int, shape: tuple[int, ...]) -> FloatArray:
        return np.zeros(shape + (n,)) if a is None else np.broadcast_to(a, shape + (n,))

    @staticmethod
    def _element_pq(
        arrays: dict[str, Any], kind: str, p0: FloatArray, q0: FloatArray, shape: tuple[int, ...]
    ) -> tuple[FloatArray, FloatArray]:
        """Per-element ``(p, q)`` of every interval, ``shape + (n,)`` [MW, Mvar]."""
        scale, p, q = arrays[f"{kind}_scale"], arrays[f"{kind}_p_mw"], arrays[f"{kind}_q_mvar"]
        full = shape + (len(p0),)
        if p is not None:
            p = np.broadcast_to(p, full)
            if q is None:  # keep each element's power factor
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(p0 != 0.0, p / np.where(p0 != 0.0, p0, 1.0), 1.0)
                q = q0 * ratio
        else:
            factor = np.ones(shape + (1,)) if scale is None else np.broadcast_to(scale, shape)[..., None]
            p = p0 * factor
            q = q0 * factor if q is None else q
        return p, np.broadcast_to(q, full)


def solve_timeseries(
    net: Any, *, pf_options: dict[str, Any] | None = None, **inputs: Any
) -> TimeseriesResult:
    """Time-series AC power flow of ``net``: :meth:`TimeseriesPowerFlow.from_net` then :meth:`~TimeseriesPowerFlow.solve`.

    Parameters
    ----------
    net:
        pandapower network (its ``res_*`` tables get the base case's results).
    pf_options:
        Options of the one pandapower call (see :meth:`TimeseriesPowerFlow.from_net`).
    **inputs:
        :meth:`TimeseriesPowerFlow.solve`'s arguments (``load_scale``, ``load_p_mw``, ``bus_p_mw``, ...).
    """
    return TimeseriesPowerFlow.from_net(net, **(pf_options or {})).solve(**inputs)
