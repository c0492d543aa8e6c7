"""Newton-Raphson AC power flow for many operating points of one network at once.

The kernel of :mod:`gridai.grid.timeseries_pf`: a per-unit network (``Ybus``, bus types, fixed
generation, ZIP load fractions) and ``K`` complex demand vectors, one per interval, solved
together. The polar mismatch equations and Jacobian are MATPOWER's (Zimmerman, Murillo-Sanchez
and Thomas, "MATPOWER: Steady-state operations, planning and analysis tools for power systems
research and education", IEEE Trans. Power Syst. 26(1), 2011; ``newtonpf``/``dSbus_dV``), the ones
pandapower's ``newtonpf`` solves, with its convergence test (infinity norm of the mismatch below
``tolerance_mva``, in per unit of ``baseMVA``), so a converged interval is pandapower's solution.

Two stages, both vectorised over the intervals:

1. **Chord method** (Kelley, "Iterative Methods for Linear and Nonlinear Equations", SIAM 1995,
   sec. 5.4): the Jacobian at the base-case solution is factorised once and every interval
   iterates ``x <- x - J0^-1 F(x)``, one sparse triangular solve with ``K`` right-hand sides per
   step. Distribution feeders stay close enough to the base case for it to contract fast.
2. **Full Newton-Raphson** for the intervals the chord step does not contract (ratio of successive
   mismatch norms above ``CHORD_RATE``), restarted from the base-case solution: their Jacobians
   are evaluated together and solved as one block-diagonal sparse system per iteration.

Loads follow pandapower's ZIP model (``makeSbus``): per bus, ``S_d(|V|) = P_d (c_p + c_i |V| +
c_z |V|^2) + j Q_d (...)`` with the bus's fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import splu

#: A chord step must shrink the mismatch norm at least by this factor, else the interval is
#: handed to full Newton (which converges quadratically near the solution).
CHORD_RATE = 0.5
#: Chord steps at most: with ``CHORD_RATE`` 0.5, 40 halvings take a 1e3 pu mismatch below 1e-9.
CHORD_MAX_ITERATION = 40

FloatArray = NDArray[np.float64]
ComplexArray = NDArray[np.complex128]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class PerUnitGrid:
    """The per-unit network the intervals share (pandapower's internal ``ppci``, ``n`` buses).

    Attributes
    ----------
    ybus:
        Bus admittance matrix [pu], ``(n, n)`` CSR.
    ref, pv, pq:
        Slack, PV and PQ bus positions.
    s_gen_pu:
        Fixed generation per bus [pu of ``baseMVA``]: the active power of PV generators (slack rows
        and PV reactive rows are not part of the equations).
    zip_p, zip_q:
        ``(3, n)``: constant-power, constant-current and constant-impedance fractions of each
        bus's active / reactive demand [-].
    """

    ybus: sp.csr_matrix
    ref: IntArray
    pv: IntArray
    pq: IntArray
    s_gen_pu: ComplexArray
    zip_p: FloatArray
    zip_q: FloatArray

    @property
    def n_bus(self) -> int:
        return int(self.ybus.shape[0])

    @property
    def constant_power(self) -> bool:
        """No bus has constant-current or constant-impedance demand."""
        return not (np.any(self.zip_p[1:]) or np.any(self.zip_q[1:]))


@dataclass(frozen=True)
class NewtonOutcome:
    """Solved bus voltages of ``K`` intervals.

    Attributes
    ----------
    v:
        Complex bus voltages [pu], ``(K, n)``.
    converged:
        ``(K,)``: the mismatch infinity norm fell below the tolerance.
    iterations:
        ``(K,)``: chord plus Newton steps taken.
    mismatch_pu:
        ``(K,)``: final mismatch infinity norm [pu of ``baseMVA``].
    """

    v: ComplexArray
    converged: BoolArray
    iterations: IntArray
    mismatch_pu: FloatArray


def _canonical(grid: PerUnitGrid) -> tuple[PerUnitGrid, IntArray]:
    """``grid`` with its buses reordered PQ, PV, slack (so the unknowns are leading slices), and the order."""
    perm = np.concatenate([grid.pq, grid.pv, grid.ref]).astype(np.int64)
    n_pq, n_pv = len(grid.pq), len(grid.pv)
    at = np.arange(len(perm), dtype=np.int64)
    return PerUnitGrid(
        ybus=sp.csr_matrix(grid.ybus[perm][:, perm]),
        ref=at[n_pq + n_pv :],
        pv=at[n_pq : n_pq + n_pv],
        pq=at[:n_pq],
        s_gen_pu=grid.s_gen_pu[perm],
        zip_p=grid.zip_p[:, perm],
        zip_q=grid.zip_q[:, perm],
    ), perm


class _Jacobian:
    """Sparsity template of the polar power-flow Jacobian ``[[dP/dVa, dP/dVm], [dQ/dVa, dQ/dVm]]``.

    Buses in canonical order (PQ, PV, slack: :func:`_canonical`). Rows: ``P`` at the first ``n_a``
    (PQ and PV) buses, then ``Q`` at the first ``n_pq``; columns: ``Va`` at the first ``n_a``, then
    ``|V|`` at the first ``n_pq``. Entries come from the non-zeros of ``Ybus`` (plus its diagonal),
    so one template serves every interval; values are computed for all intervals at once.
    """

    def __init__(self, grid: PerUnitGrid) -> None:
        n = grid.n_bus
        coo = grid.ybus.tocoo()
        key = np.concatenate([coo.row * n + coo.col, np.arange(n) * (n + 1)]).astype(np.int64)
        uniq, inverse = np.unique(key, return_inverse=True)
        y = np.zeros(len(uniq), dtype=np.complex128)
        np.add.at(y, inverse[: coo.nnz], coo.data)
        self.rows, self.cols, self.y_conj = uniq // n, uniq % n, np.conj(y)
        self.diag = np.searchsorted(uniq, np.arange(n) * (n + 1))
        self.n_pq = n_pq = len(grid.pq)
        self.n_a = n_a = n_pq + len(grid.pv)
        self.m = n_a + n_pq
        r, c = self.rows, self.cols
        # the entries of Ybus's pattern in each block of [[J11 J12], [J21 J22]], and where they land in J
        blocks = [
            (r < n_a) & (c < n_a),
            (r < n_a) & (c < n_pq),
            (r < n_pq) & (c < n_a),
            (r < n_pq) & (c < n_pq),
        ]
        self.sel = [np.flatnonzero(b) for b in blocks]
        j_rows = [r[self.sel[0]], r[self.sel[1]], n_a + r[self.sel[2]], n_a + r[self.sel[3]]]
        j_cols = [c[self.sel[0]], n_a + c[self.sel[1]], c[self.sel[2]], n_a + c[self.sel[3]]]
        rows_j, cols_j = np.concatenate(j_rows), np.concatenate(j_cols)
        # where the diagonal dVm entries of PQ buses land (the ZIP load derivative is added there)
        start = np.cumsum([0] + [len(s) for s in self.sel])
        diag_pq = self.diag[:n_pq]
        self.zip_p_at = start[1] + np.searchsorted(self.sel[1], diag_pq)
        self.zip_q_at = start[3] + np.searchsorted(self.sel[3], diag_pq)
        # CSC order of one block, reused for the block-diagonal system of many intervals
        self.order = np.lexsort((rows_j, cols_j))
        self.rows_csc = rows_j[self.order]
        self.indptr = np.searchsorted(cols_j[self.order], np.arange(self.m + 1)).astype(np.int64)
        self.nnz = len(rows_j)

    def values(self, grid: PerUnitGrid, v: ComplexArray, i_bus: ComplexArray, sd: ComplexArray) -> FloatArray:
        """Jacobian entries of every interval, ``(K, nnz_J)`` in template order.

        ``dS/dVm = diag(V) conj(Ybus diag(E)) + conj(diag(I)) diag(E)``, ``dS/dVa = j diag(V)
        conj(diag(I) - Ybus diag(V))`` with ``E = V / |V|`` (MATPOWER ``dSbus_dV``), plus the ZIP
        load terms ``dP_d/d|V| = P_d (c_i + 2 c_z |V|)`` (and ``Q``) on the diagonal.
        """
        vm = np.abs(v)
        e = v / vm
        t = v[:, self.rows] * self.y_conj
        d_vm = t * np.conj(e[:, self.cols])
        d_va = -1j * t * np.conj(v[:, self.cols])
        d_vm[:, self.diag] += np.conj(i_bus) * e
        d_va[:, self.diag] += 1j * v * np.conj(i_bus)
        s = self.sel
        vals = np.concatenate(
            [d_va[:, s[0]].real, d_vm[:, s[1]].real, d_va[:, s[2]].imag, d_vm[:, s[3]].imag], axis=1
        )
        pq = slice(0, self.n_pq)
        vm_pq = vm[:, pq]
        vals[:, self.zip_p_at] += sd.real[:, pq] * (grid.zip_p[1, pq] + 2 * grid.zip_p[2, pq] * vm_pq)
        vals[:, self.zip_q_at] += sd.imag[:, pq] * (grid.zip_q[1, pq] + 2 * grid.zip_q[2, pq] * vm_pq)
        return vals

    def block_diagonal(self, vals: FloatArray) -> sp.csc_matrix:
        """One CSC matrix holding the Jacobians of the ``K`` intervals of ``vals`` on its diagonal."""
        k = vals.shape[0]
        shift = np.arange(k, dtype=np.int64)[:, None]
        data = vals[:, self.order].ravel()
        indices = (self.rows_csc + self.m * shift).ravel()
        indptr = np.append((self.indptr[:-1] + self.nnz * shift).ravel(), k * self.nnz)
        return sp.csc_matrix((data, indices, indptr), shape=(k * self.m, k * self.m))


@dataclass
class _State:
    """Iterates of ``K`` intervals, ``(K, n)`` per bus and ``(K, m)`` per equation."""

    va: FloatArray
    vm: FloatArray
    v: ComplexArray
    i_bus: ComplexArray
    f: FloatArray
    norm: FloatArray


Rows = IntArray | slice


def _rows(active: IntArray, k: int) -> Rows:
    """``active`` as an index, a slice when it is every interval (views instead of copies)."""
    return slice(None) if len(active) == k else active


def _evaluate(grid: PerUnitGrid, jac: _Jacobian, st: _State, sd: ComplexArray, rows: Rows) -> None:
    """Voltages, bus currents and mismatch ``F = [Re(S(V) - S_bus)[PQ, PV], Im(...)[PQ]]`` of ``rows``."""
    va, vm = st.va[rows], st.vm[rows]
    v = vm * np.exp(1j * va)
    i_bus = (grid.ybus @ v.T).T
    s_load = sd[rows]
    if not grid.constant_power:
        zp, zq = grid.zip_p, grid.zip_q
        s_load = s_load.real * (zp[0] + zp[1] * vm + zp[2] * vm**2) + 1j * s_load.imag * (
            zq[0] + zq[1] * vm + zq[2] * vm**2
        )
    mis = v * np.conj(i_bus) - grid.s_gen_pu + s_load
    f = np.concatenate([mis[:, : jac.n_a].real, mis[:, : jac.n_pq].imag], axis=1)
    st.v[rows], st.i_bus[rows], st.f[rows] = v, i_bus, f
    st.norm[rows] = np.max(np.abs(f), axis=1, initial=0.0)


def _step(st: _State, jac: _Jacobian, dx: FloatArray, rows: Rows) -> None:
    """``Va[PQ, PV] += dx[:n_a]``, ``|V|[PQ] += dx[n_a:]`` on the intervals ``rows`` (in place)."""
    st.va[rows, : jac.n_a] += dx[:, : jac.n_a]
    st.vm[rows, : jac.n_pq] += dx[:, jac.n_a :]


def _solve_blocks(jac: _Jacobian, vals: FloatArray, rhs: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Solve the ``K`` Jacobian systems; ``ok`` is False for the singular ones (their step is 0)."""
    k = vals.shape[0]
    try:
        return splu(jac.block_diagonal(vals)).solve(rhs.ravel()).reshape(k, jac.m), np.ones(k, dtype=bool)
    except RuntimeError:  # a singular block: solve one by one to find it
        dx, ok = np.zeros_like(rhs), np.ones(k, dtype=bool)
        for j in range(k):
            try:
                dx[j] = splu(jac.block_diagonal(vals[j : j + 1])).solve(rhs[j])
            except RuntimeError:
                ok[j] = False
        return dx, ok


def _chord(
    grid: PerUnitGrid, jac: _Jacobian, st: _State, sd: ComplexArray, lu: Any, tol: float
) -> tuple[IntArray, IntArray]:
    """Chord iterations on every interval; returns (intervals to hand to Newton, steps taken)."""
    k = st.v.shape[0]
    steps = np.zeros(k, dtype=np.int64)
    last = np.full(k, np.inf)
    newton = np.zeros(k, dtype=bool)
    active = np.flatnonzero(~(st.norm < tol))
    for _ in range(CHORD_MAX_ITERATION):
        if not len(active):
            break
        dx = -lu.solve(np.asfortranarray(st.f[_rows(active, k)].T)).T
        size = np.max(np.abs(dx), axis=1)
        # not contracting (or NaN): Newton's job
        slow = ~(size <= CHORD_RATE * last[active])
        newton[active[slow]] = True
        if slow.any():
            active, dx, size = active[~slow], dx[~slow], size[~slow]
        rows = _rows(active, k)
        _step(st, jac, dx, rows)
        last[rows] = size
        _evaluate(grid, jac, st, sd, rows)
        steps[rows] += 1
        active = active[~(st.norm[active] < tol)]
    newton[active] = True
    return np.flatnonzero(newton), steps


def solve_batch(
    grid: PerUnitGrid,
    sd_pu: ComplexArray,
    v0: ComplexArray,
    sd0_pu: ComplexArray,
    *,
    tolerance_pu: float,
    max_iteration: int,
) -> NewtonOutcome:
    """Solve ``K`` power flows of ``grid`` that differ only in their bus demand.

    Parameters
    ----------
    grid:
        The shared per-unit network.
    sd_pu:
        Complex bus demand at 1 pu voltage [pu of ``baseMVA``], ``(K, n)`` (generation negative).
    v0:
        Base-case solution [pu], ``(n,)``: the start of every interval and the chord Jacobian's
        operating point; it carries the slack and PV voltage set points.
    sd0_pu:
        Bus demand of the base case [pu], ``(n,)`` (for the chord Jacobian's ZIP-load terms).
    tolerance_pu:
        Convergence: infinity norm of the mismatch [pu of ``baseMVA``] (pandapower's
        ``tolerance_mva`` over ``baseMVA``).
    max_iteration:
        Full Newton iterations at most (after the chord stage).
    """
    k, n = sd_pu.shape
    grid, perm = _canonical(grid)
    sd_pu, v0, sd0_pu = sd_pu[:, perm], v0[perm], sd0_pu[perm]
    jac = _Jacobian(grid)
    va0, vm0 = np.angle(v0), np.abs(v0)
    st = _State(
        va=np.repeat(va0[None], k, axis=0),
        vm=np.repeat(vm0[None], k, axis=0),
        v=np.empty((k, n), dtype=np.complex128),
        i_bus=np.empty((k, n), dtype=np.complex128),
        f=np.empty((k, jac.m)),
        norm=np.empty(k),
    )
    with np.errstate(all="ignore"):  # diverging intervals overflow: they are flagged, not raised
        _evaluate(grid, jac, st, sd_pu, slice(None))
        todo, iterations = np.zeros(0, dtype=np.int64), np.zeros(k, dtype=np.int64)
        if jac.m:
            j0 = jac.values(grid, v0[None], (grid.ybus @ v0)[None], sd0_pu[None])
            todo, iterations = _chord(grid, jac, st, sd_pu, splu(jac.block_diagonal(j0)), tolerance_pu)
        if len(todo):  # full Newton-Raphson from the base-case solution
            st.va[todo], st.vm[todo] = va0, vm0
            _evaluate(grid, jac, st, sd_pu, todo)
            for _ in range(max_iteration):
                todo = todo[np.isfinite(st.norm[todo]) & (st.norm[todo] >= tolerance_pu)]
                if not len(todo):
                    break
                vals = jac.values(grid, st.v[todo], st.i_bus[todo], sd_pu[todo])
                dx, ok = _solve_blocks(jac, vals, -st.f[todo])
                st.norm[todo[~ok]] = np.nan
                todo, dx = todo[ok], dx[ok]
                _step(st, jac, dx, todo)
                _evaluate(grid, jac, st, sd_pu, todo)
                iterations[todo] += 1
    converged = np.isfinite(st.norm) & (st.norm < tolerance_pu)
    v = np.empty_like(st.v)
    v[:, perm] = st.v  # back to the caller's bus order
    return NewtonOutcome(v=v, converged=converged, iterations=iterations, mismatch_pu=st.norm)
