"""A Pyomo model whose linear constraint families are held as sparse array blocks.

:class:`LinearModel` is what the dispatch builders write into. Every decision variable is a
real Pyomo ``Var`` (on ``LinearModel.pyomo``) so users and the plain solver path see an
ordinary Pyomo model; every constraint family is stored once, vectorised, as a block of
sparse rows ``lo <= A x <= hi`` built from numpy index arrays. The fast solver path hands
these blocks to HiGHS as arrays (no per-constraint Python translation); the plain path turns
them into Pyomo ``Constraint`` components on demand with :meth:`LinearModel.to_pyomo`.

The objective is a sum of *named* cost terms (energy, peak, degradation, ...) so the cost
breakdown of a solution is ``c_name @ x`` per name.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.core.base.var import IndexedVar, VarData
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

ArrayLike = np.ndarray | float | int


@dataclass(frozen=True)
class _Family:
    """A family of elements (columns or rows) at positions ``offset .. offset + size`` (C order)."""

    name: str
    offset: int
    shape: tuple[int, ...]
    description: str = ""
    labels: tuple[Sequence[str] | None, ...] = ()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    def label(self, flat: int) -> str:
        """Plain-words position of element ``flat``, e.g. ``battery B3, 2008-01-01 17:00``."""
        return _label(flat, self.shape, self.labels)


@dataclass(frozen=True)
class VarBlock(_Family):
    """A family of variables occupying the columns ``offset .. offset + size`` (C order)."""

    @property
    def idx(self) -> np.ndarray:
        """Global column numbers, shaped like the block."""
        return np.arange(self.offset, self.offset + self.size).reshape(self.shape)


@dataclass(frozen=True)
class RowFamily(_Family):
    """A family of constraints occupying rows ``offset .. offset + size`` (C order)."""


def _label(flat: int, shape: tuple[int, ...], labels: tuple[Sequence[str] | None, ...]) -> str:
    pos = np.unravel_index(flat, shape) if shape else ()
    parts = []
    for k, p in enumerate(pos):
        names = labels[k] if k < len(labels) else None
        parts.append(str(names[int(p)]) if names is not None else f"#{int(p)}")
    return ", ".join(parts)


@dataclass
class LpArrays:
    """``min/max c x + c0  s.t.  row_lo <= A x <= row_hi,  col_lo <= x <= col_hi`` (A in CSC)."""

    c: np.ndarray
    c0: float
    A: sp.csc_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    maximize: bool = False


@dataclass
class Solution:
    """Primal values per column and duals per row (duals only for LPs)."""

    x: np.ndarray
    row_dual: np.ndarray | None = None


class ArrayVar(IndexedVar):
    """A Pyomo indexed Var over ``0..n-1`` whose bounds (and solution) live in numpy arrays.

    Its ``VarData`` are created on first access (``x[i]``, iteration, ``len``, any Pyomo
    writer), by Pyomo itself through the public ``Var(bounds=..., initialize=...)`` rules, which
    read the bounds from the arrays and the value from the owning model's current solution
    (clipped into the bounds and rounded for integer domains, so that Pyomo's validation never
    warns about solver tolerances). Building a 77,000-variable model thus costs no per-variable
    Python work; the plain solver path and users who iterate see ordinary, fully populated Pyomo
    variables. Only public Pyomo API is used (no private ``VarData`` attributes), so ``pyomo``
    needs no upper pin. Creating a VarData costs about 7 us on Pyomo's own path (2 us when they
    were assembled from private attributes), paid only by the plain path and by code that touches
    every variable: the fast path creates none.
    """

    def __init__(
        self, n: int, lb: np.ndarray, ub: np.ndarray, domain: object, block: VarBlock, owner: LinearModel
    ):
        self._n = n
        self._arr_lb = lb
        self._arr_ub = ub
        self._arr_integer = domain is not pyo.Reals
        self._block = block
        self._owner = weakref.ref(owner)
        self._created: list[int] = []  # indices whose VarData exist, in creation order
        super().__init__(
            pyo.RangeSet(0, n - 1),
            dense=False,
            domain=domain,
            bounds=self._bounds_rule,
            initialize=self._init_rule,
        )

    def _bounds_rule(self, _m: pyo.ConcreteModel, i: int) -> tuple[float | None, float | None]:
        lo, hi = self._arr_lb[i], self._arr_ub[i]
        return (float(lo) if lo > -np.inf else None, float(hi) if hi < np.inf else None)

    def _pyomo_value(self, i: int, x: np.ndarray) -> float:
        """Solution value of element ``i`` as a valid Pyomo value (inside bounds, integral if integer)."""
        val = min(max(float(x[self._block.offset + i]), float(self._arr_lb[i])), float(self._arr_ub[i]))
        return float(round(val)) if self._arr_integer else val

    def _init_rule(self, _m: pyo.ConcreteModel, i: int) -> float | None:
        self._created.append(int(i))
        sol = self._solution()
        return None if sol is None else self._pyomo_value(int(i), sol)

    def _solution(self) -> np.ndarray | None:
        owner = self._owner()
        return None if owner is None or owner.solution is None else owner.solution.x

    @property
    def n_created(self) -> int:
        """How many VarData exist so far."""
        return len(self._created)

    def materialize(self) -> None:
        """Create every missing VarData (in index order)."""
        if len(self._created) < self._n:
            for i in range(self._n):
                self[i]

    def __len__(self) -> int:
        return self._n

    def __contains__(self, idx: Any) -> bool:
        return isinstance(idx, int | np.integer) and 0 <= int(idx) < self._n

    def keys(self, *args: Any, **kw: Any) -> Any:
        self.materialize()
        return super().keys(*args, **kw)

    def values(self, *args: Any, **kw: Any) -> Any:
        self.materialize()
        return super().values(*args, **kw)

    def items(self, *args: Any, **kw: Any) -> Any:
        self.materialize()
        return super().items(*args, **kw)

    def load_values(self, x: np.ndarray) -> None:
        """Put the solution on the VarData that exist (the others read it when created)."""
        for i in self._created:
            self[i].set_value(self._pyomo_value(i, x), skip_validation=True)


class LinearModel:
    """Vectorised builder state: Pyomo variables + sparse constraint blocks + named costs."""

    def __init__(self, name: str = "dispatch") -> None:
        self.name = name
        self.pyomo = pyo.ConcreteModel(name=name)
        self.blocks: dict[str, VarBlock] = {}
        self.families: dict[str, RowFamily] = {}
        self.n_col = 0
        self.n_row = 0
        self._col_lo: list[np.ndarray] = []
        self._col_hi: list[np.ndarray] = []
        self._integer: list[np.ndarray] = []
        self._entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._row_lo: list[np.ndarray] = []
        self._row_hi: list[np.ndarray] = []
        self.costs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.cost_constant: dict[str, float] = {}
        self.weights: dict[str, float] = {}
        self.time_labels: list[str] | None = None
        self.solution: Solution | None = None
        self._pyomo_complete = False
        self.meta: dict[str, object] = {}

    def tlabels(self, n_t: int) -> list[str]:
        """Labels of the time axis (timestamps when the builder set them)."""
        if self.time_labels is not None and len(self.time_labels) == n_t:
            return self.time_labels
        return [f"interval {t}" for t in range(n_t)]

    # -- variables -------------------------------------------------------------------------
    def add_var(
        self,
        name: str,
        shape: tuple[int, ...],
        lb: ArrayLike = 0.0,
        ub: ArrayLike = np.inf,
        *,
        integer: bool = False,
        description: str = "",
        labels: tuple[Sequence[str] | None, ...] = (),
    ) -> VarBlock:
        """Add a variable family of ``shape`` with bounds broadcast to it (``labels`` name positions per axis)."""
        if name in self.blocks:
            raise ValueError(f"variable family {name!r} already exists")
        block = VarBlock(name, self.n_col, tuple(int(s) for s in shape), description, labels)
        lo = np.broadcast_to(np.asarray(lb, dtype=float), block.shape).ravel().copy()
        hi = np.broadcast_to(np.asarray(ub, dtype=float), block.shape).ravel().copy()
        if integer:
            domain = pyo.Binary if (lo >= 0).all() and (hi <= 1).all() else pyo.Integers
        else:
            domain = pyo.Reals
        var = ArrayVar(block.size, lo, hi, domain, block, self)
        self.pyomo.add_component(name, var)
        self._col_lo.append(lo)
        self._col_hi.append(hi)
        self._integer.append(np.full(block.size, integer))
        self.blocks[name] = block
        self.n_col += block.size
        self._invalidate()
        return block

    # -- constraints -----------------------------------------------------------------------
    def add_rows(
        self,
        name: str,
        terms: Sequence[tuple[ArrayLike, np.ndarray]],
        lo: ArrayLike,
        hi: ArrayLike,
        *,
        description: str = "",
        labels: tuple[Sequence[str] | None, ...] = (),
    ) -> RowFamily:
        """Add the rows ``lo <= sum_k coef_k * x[cols_k] <= hi`` element-wise.

        Every ``cols_k`` is an integer array of global column numbers with the row shape (or
        broadcastable to it); a negative column number means "no term" (e.g. the SoC before
        the first interval). Coefficients and bounds broadcast to the row shape.
        """
        if name in self.families:
            raise ValueError(f"constraint family {name!r} already exists")
        shape = np.broadcast_shapes(
            *(np.shape(c) for _, c in terms), *(np.shape(c) for c, _ in terms), np.shape(lo), np.shape(hi)
        )
        fam = RowFamily(name, self.n_row, tuple(int(s) for s in shape), description, labels)
        rows = np.arange(fam.offset, fam.offset + fam.size).reshape(shape)
        for coef, cols in terms:
            c_arr = np.broadcast_to(np.asarray(cols), shape).ravel()
            v_arr = np.broadcast_to(np.asarray(coef, dtype=float), shape).ravel()
            keep = (c_arr >= 0) & (v_arr != 0.0)
            self._entries.append((rows.ravel()[keep], c_arr[keep].astype(np.int64), v_arr[keep]))
        self._row_lo.append(np.broadcast_to(np.asarray(lo, dtype=float), shape).ravel().copy())
        self._row_hi.append(np.broadcast_to(np.asarray(hi, dtype=float), shape).ravel().copy())
        self.families[name] = fam
        self.n_row += fam.size
        self._invalidate()
        return fam

    def extend_rows(self, fam: RowFamily, rows: np.ndarray, cols: np.ndarray, coefs: ArrayLike) -> None:
        """Add entries ``coef * x[col]`` to rows (flat positions inside ``fam``) of an existing family.

        For sums whose length differs per row (assets per feeder, intervals per session).
        """
        r = np.asarray(rows, dtype=np.int64).ravel()
        if len(r) and (r.min() < 0 or r.max() >= fam.size):
            raise IndexError(f"row outside family {fam.name}")
        v = np.broadcast_to(np.asarray(coefs, dtype=float), r.shape).ravel()
        self._entries.append((fam.offset + r, np.asarray(cols, dtype=np.int64).ravel(), v.copy()))
        self._invalidate()

    def free_rows(self, fam: RowFamily, mask: np.ndarray) -> None:
        """Make the rows of ``fam`` selected by ``mask`` (family-shaped) free (no bounds)."""
        k = list(self.families).index(fam.name)
        flat = np.asarray(mask, dtype=bool).ravel()
        self._row_lo[k][flat] = -np.inf
        self._row_hi[k][flat] = np.inf
        self._invalidate()

    # -- objective -------------------------------------------------------------------------
    def add_cost(self, name: str, cols: np.ndarray, coef: ArrayLike, constant: float = 0.0) -> None:
        """Add ``sum coef * x[cols] (+ constant)`` to the cost term ``name`` (minimised)."""
        c_arr = np.asarray(cols).ravel()
        v_arr = np.broadcast_to(np.asarray(coef, dtype=float), np.shape(cols)).ravel()
        if name in self.costs:
            old_c, old_v = self.costs[name]
            c_arr, v_arr = np.concatenate([old_c, c_arr]), np.concatenate([old_v, v_arr])
        self.costs[name] = (c_arr.astype(np.int64), v_arr.copy())
        self.cost_constant[name] = self.cost_constant.get(name, 0.0) + float(constant)
        self._invalidate()

    def cost_vector(self, name: str | None = None) -> np.ndarray:
        """Dense objective vector of one cost term (at face value), or of all of them weighted."""
        c = np.zeros(self.n_col)
        for key, (cols, vals) in self.costs.items():
            if name is None:
                np.add.at(c, cols, self.weights.get(key, 1.0) * vals)
            elif key == name:
                np.add.at(c, cols, vals)
        return c

    # -- assembly --------------------------------------------------------------------------
    def _invalidate(self) -> None:
        self._arrays: LpArrays | None = None
        if self._pyomo_complete:
            raise RuntimeError(
                "the model was already turned into Pyomo components; build it completely first"
            )

    def arrays(self) -> LpArrays:
        """The whole model as HiGHS-ready arrays (cached)."""
        if getattr(self, "_arrays", None) is None:
            if self._entries:
                r = np.concatenate([e[0] for e in self._entries])
                c = np.concatenate([e[1] for e in self._entries])
                v = np.concatenate([e[2] for e in self._entries])
            else:
                r = c = np.zeros(0, dtype=np.int64)
                v = np.zeros(0)
            A = sp.csc_matrix((v, (r, c)), shape=(self.n_row, self.n_col))
            A.sum_duplicates()
            cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0)  # noqa: E731
            self._arrays = LpArrays(
                c=self.cost_vector(),
                c0=float(sum(self.weights.get(k, 1.0) * v for k, v in self.cost_constant.items())),
                A=A,
                row_lo=cat(self._row_lo),
                row_hi=cat(self._row_hi),
                col_lo=cat(self._col_lo),
                col_hi=cat(self._col_hi),
                integer=np.concatenate(self._integer) if self._integer else np.zeros(0, dtype=bool),
            )
        assert self._arrays is not None
        return self._arrays

    @property
    def is_mip(self) -> bool:
        return bool(self.arrays().integer.any())

    def pyomo_vars(self) -> list[VarData]:
        """Pyomo VarData in global column order (creates them all)."""
        out: list[VarData] = []
        for name, block in self.blocks.items():
            var = getattr(self.pyomo, name)
            out.extend(var[i] for i in range(block.size))
        return out

    def to_pyomo(self) -> pyo.ConcreteModel:
        """Add every constraint family and the objective as ordinary Pyomo components.

        Used by the plain solver path (``appsi_highs``) and for inspection/export; the fast
        path never needs it. Idempotent; the model must be complete before calling it.
        """
        if self._pyomo_complete:
            return self.pyomo
        lp = self.arrays()
        xs = self.pyomo_vars()
        A = lp.A.tocsr()
        for fam in self.families.values():
            lo = lp.row_lo[fam.offset : fam.offset + fam.size]
            hi = lp.row_hi[fam.offset : fam.offset + fam.size]

            def rule(
                _m: pyo.ConcreteModel, i: int, fam: RowFamily = fam, lo: np.ndarray = lo, hi: np.ndarray = hi
            ):
                r = fam.offset + i
                sl = slice(A.indptr[r], A.indptr[r + 1])
                body = LinearExpression(
                    [
                        MonomialTermExpression((float(a), xs[j]))
                        for a, j in zip(A.data[sl], A.indices[sl], strict=True)
                    ]
                )
                lo_i = None if not np.isfinite(lo[i]) else float(lo[i])
                hi_i = None if not np.isfinite(hi[i]) else float(hi[i])
                if lo_i is not None and lo_i == hi_i:
                    return body == lo_i
                if lo_i is None and hi_i is None:
                    return pyo.Constraint.Skip
                return (lo_i, body, hi_i)

            self.pyomo.add_component("c_" + fam.name, pyo.Constraint(range(fam.size), rule=rule))
        nz = np.flatnonzero(lp.c)
        obj = LinearExpression([MonomialTermExpression((float(lp.c[j]), xs[j])) for j in nz]) + lp.c0
        self.pyomo.add_component("objective", pyo.Objective(expr=obj, sense=pyo.minimize))
        self._pyomo_complete = True
        return self.pyomo

    # -- solution access -------------------------------------------------------------------
    def set_solution(self, x: np.ndarray, row_dual: np.ndarray | None = None) -> None:
        """Store a solution and load it onto the Pyomo variables (those not yet created get it on creation)."""
        self.solution = Solution(np.asarray(x, dtype=float), row_dual)
        for name in self.blocks:
            getattr(self.pyomo, name).load_values(self.solution.x)

    def value(self, block: VarBlock | str) -> np.ndarray:
        """Solution values of a variable family, shaped like it."""
        b = self.blocks[block] if isinstance(block, str) else block
        if self.solution is None:
            raise RuntimeError("model has no solution")
        return self.solution.x[b.offset : b.offset + b.size].reshape(b.shape)

    def dual(self, family: RowFamily | str) -> np.ndarray | None:
        """Row duals of a constraint family (LP only), shaped like it."""
        f = self.families[family] if isinstance(family, str) else family
        if self.solution is None or self.solution.row_dual is None:
            return None
        return self.solution.row_dual[f.offset : f.offset + f.size].reshape(f.shape)

    def cost_breakdown(self) -> dict[str, float]:
        """Value of each named cost term at the solution."""
        if self.solution is None:
            raise RuntimeError("model has no solution")
        x = self.solution.x
        return {
            k: float(vals @ x[cols]) + self.cost_constant.get(k, 0.0)
            for k, (cols, vals) in self.costs.items()
        }

    def row_family_of(self, row: int) -> tuple[RowFamily, int]:
        """The family holding global row ``row`` and the position inside it."""
        for fam in self.families.values():
            if fam.offset <= row < fam.offset + fam.size:
                return fam, row - fam.offset
        raise IndexError(row)

    def block_of(self, col: int) -> tuple[VarBlock, int]:
        """The variable family holding global column ``col`` and the position inside it."""
        for b in self.blocks.values():
            if b.offset <= col < b.offset + b.size:
                return b, col - b.offset
        raise IndexError(col)
