"""Lower quantiles of a demand are floored at zero without touching the median or crossing."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gridai.forecast.reconcile import floor_lower_quantiles

MEDIAN = 2  # levels 0.1, 0.3, 0.5, 0.7, 0.9


@given(arrays(np.float64, (4, 3, 5), elements=st.floats(-100, 100)))
def test_floor_keeps_median_and_upper_and_order(raw: np.ndarray) -> None:
    q = np.sort(raw, axis=-1)  # non-crossing input
    out = floor_lower_quantiles(q, MEDIAN)
    np.testing.assert_array_equal(out[..., MEDIAN:], q[..., MEDIAN:])
    assert np.all(np.diff(out, axis=-1) >= 0)  # still non-crossing
    # a lower quantile is changed only where it was negative, and never raised above zero
    changed = out != q
    assert np.all(q[changed] < 0) and np.all(out[changed] <= 0)
    # where the median is non-negative, no lower quantile stays negative
    nonneg = q[..., MEDIAN] >= 0
    assert np.all(out[..., :MEDIAN][nonneg] >= 0)


def test_floor_on_a_known_case() -> None:
    q = np.array([[-5.0, -1.0, 3.0, 4.0, 9.0], [-8.0, -6.0, -2.0, 1.0, 2.0]])
    out = floor_lower_quantiles(q, MEDIAN)
    np.testing.assert_array_equal(out[0], [0.0, 0.0, 3.0, 4.0, 9.0])
    np.testing.assert_array_equal(out[1], [-2.0, -2.0, -2.0, 1.0, 2.0])
