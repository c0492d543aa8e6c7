"""The LinDistFlow equations shared by dispatch and restoration (gridai.grid.lindistflow)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridai.grid.lindistflow import (
    OCTAGON_APOTHEM,
    branch_incidence,
    in_octagon,
    octagon_facets,
    octagon_limits,
    voltage_drop_coefficients,
)

finite = st.floats(-2.0, 2.0, allow_nan=False)


def test_octagon_vertices_lie_on_the_circle() -> None:
    facets = np.array(octagon_facets())
    assert np.allclose(np.hypot(facets[:, 0], facets[:, 1]), 1.0)
    # vertex between facets a and a + pi/4 is at angle a + pi/8, radius S
    for k in range(8):
        ang = k * np.pi / 4 + np.pi / 8
        p, q = np.cos(ang), np.sin(ang)
        assert max(abs(p * c + q * s) for c, s in facets) == pytest.approx(OCTAGON_APOTHEM)
        assert in_octagon(p * (1 - 1e-9), q * (1 - 1e-9), 1.0)


@given(finite, finite, st.floats(0.1, 3.0))
def test_octagon_forms_agree_and_lie_inside_the_circle(p: float, q: float, s: float) -> None:
    by_facets = all(abs(c * p + sn * q) <= s * OCTAGON_APOTHEM * (1 + 1e-12) for c, sn in octagon_facets())
    axis, diagonal = octagon_limits(s)
    by_limits = max(abs(p), abs(q)) <= axis * (1 + 1e-12) and abs(p) + abs(q) <= diagonal * (1 + 1e-12)
    assert (
        by_facets == by_limits
        or min(abs(abs(c * p + sn * q) - s * OCTAGON_APOTHEM) for c, sn in octagon_facets()) < 1e-9 * s
    )
    if in_octagon(p, q, s):
        assert np.hypot(p, q) <= s * (1 + 1e-12)
    if np.hypot(p, q) <= s * OCTAGON_APOTHEM:  # the inscribed circle is inside the octagon
        assert in_octagon(p, q, s)


def test_balance_incidence_on_a_small_tree() -> None:
    # 0 -> 1 -> 2 and 1 -> 3; loads 0, 1, 2, 3 kW: flows are the downstream loads
    f, t = np.array([0, 1, 1]), np.array([1, 2, 3])
    bus, k, sign = branch_incidence(f, t)
    a = np.zeros((4, 3))
    np.add.at(a, (bus, k), sign)
    flows = np.array([6.0, 2.0, 3.0])
    load = np.array([0.0, 1.0, 2.0, 3.0])
    src = np.array([6.0, 0.0, 0.0, 0.0])
    assert np.allclose(a @ flows + src, load)
    assert np.allclose(a.sum(axis=0), 0.0)  # each branch leaves one bus and enters another


def test_voltage_drop_in_kw_and_pu_and_with_a_tap() -> None:
    r, x, p_kw, q_kvar, s_base_mva = 0.02, 0.04, 300.0, 100.0, 10.0
    base_kw = 1000.0 * s_base_mva
    u_f = 1.0
    expected_u_t = u_f - 2 * (r * p_kw + x * q_kvar) / base_kw
    for p, q, base in ((p_kw, q_kvar, base_kw), (p_kw / base_kw, q_kvar / base_kw, 1.0)):
        c_ut, c_uf, c_p, c_q = (
            float(c[0]) for c in voltage_drop_coefficients(np.array([r]), np.array([x]), 1.0, base)
        )
        u_t = -(c_uf * u_f + c_p * p + c_q * q) / c_ut
        assert u_t == pytest.approx(expected_u_t, rel=1e-12)
    c_ut, c_uf, _, _ = voltage_drop_coefficients(np.array([r]), np.array([x]), np.array([1.05**2]), 1.0)
    assert -c_uf[0] / c_ut[0] == pytest.approx(1 / 1.05**2)  # no flow: U_t = U_f / tau2
