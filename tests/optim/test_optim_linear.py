"""LinearModel's Pyomo view: VarData made lazily by Pyomo's public Var API, values from the arrays."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from gridai.optim.linear import ArrayVar, LinearModel
from gridai.optim.solve import SolveOptions, solve_model


def _model() -> tuple[LinearModel, ArrayVar, ArrayVar]:
    lm = LinearModel("t")
    x = lm.add_var("x", (2, 3), 0.0, np.array([[1.0], [2.0]]))
    lm.add_var("y", (2,), 0.0, 1.0, integer=True)
    lm.add_rows("sum", [(1.0, x.idx[:, 0]), (1.0, x.idx[:, 1]), (-1.0, x.idx[:, 2])], -np.inf, [0.5, 1.0])
    lm.add_cost("a", x.idx, -np.arange(6.0).reshape(2, 3))
    return lm, lm.pyomo.x, lm.pyomo.y


def test_no_vardata_until_touched_and_then_ordinary_pyomo_variables() -> None:
    lm, x, y = _model()
    res = solve_model(lm, SolveOptions())
    assert res.ok and x.n_created == 0 and y.n_created == 0  # the fast path never creates them
    v = x[4]  # row 1, column 1 of the (2, 3) block
    assert x.n_created == 1 and v.bounds == (0.0, 2.0) and v.domain is pyo.Reals
    assert v.value == pytest.approx(lm.value("x")[1, 1])
    assert y[0].domain is pyo.Binary and y[0].value in (0.0, 1.0)
    assert len(x) == 6 and [d.value for d in x.values()] == pytest.approx(lm.value("x").ravel().tolist())
    assert x.n_created == 6
    assert [d.name for d in lm.pyomo_vars()] == [f"x[{i}]" for i in range(6)] + ["y[0]", "y[1]"]


def test_solution_values_are_valid_pyomo_values() -> None:
    lm, x, y = _model()
    n = lm.n_col
    sol = np.full(n, 0.5)
    sol[0] = -1e-9  # a solver tolerance below the lower bound
    sol[6] = 0.9999999997  # a binary within tolerance
    lm.set_solution(sol)
    assert x[0].value == 0.0 and y[0].value == 1.0
    lm.set_solution(np.zeros(n))  # reloads the VarData that exist
    assert x[0].value == 0.0 and y[0].value == 0.0 and x[1].value == 0.0
