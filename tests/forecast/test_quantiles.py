"""The one quantile pick: exact when held, linear between levels, the end level outside."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.forecast.quantiles import median_of, median_path, quantile_at, quantile_column, quantile_da

LEVELS = [0.9, 0.1, 0.5]  # unsorted on purpose
VALUES = np.array([[9.0, 1.0, 5.0], [19.0, 11.0, 15.0]])  # (time, quantile)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param(0.5, [5.0, 15.0], id="held-median"),
        pytest.param(0.9, [9.0, 19.0], id="held-upper"),
        pytest.param(0.7, [7.0, 17.0], id="between-0.5-and-0.9"),
        pytest.param(0.3, [3.0, 13.0], id="between-0.1-and-0.5"),
        pytest.param(0.05, [1.0, 11.0], id="below-range-end-level"),
        pytest.param(0.99, [9.0, 19.0], id="above-range-end-level"),
    ],
)
def test_quantile_at_array_dataarray_frame_agree(q: float, expected: list[float]) -> None:
    np.testing.assert_allclose(quantile_at(VALUES, LEVELS, q), expected)
    np.testing.assert_allclose(quantile_at(VALUES.T, LEVELS, q, axis=0), expected)
    da = xr.DataArray(VALUES, dims=("time", "quantile"), coords={"quantile": LEVELS})
    out = quantile_da(da, q)
    assert out.dims == ("time",) and "quantile" not in out.coords
    np.testing.assert_allclose(out.values, expected)
    frame = pd.DataFrame(VALUES, columns=[str(v) for v in LEVELS])
    np.testing.assert_allclose(quantile_column(frame, q).to_numpy(), expected)


def test_held_level_is_returned_exactly() -> None:
    rng = np.random.default_rng(0)
    vals = rng.normal(size=(4, 24, 5))
    levels = [0.1, 0.25, 0.5, 0.75, 0.9]
    assert np.array_equal(median_of(vals, levels), vals[..., 2])
    frame = pd.DataFrame(vals[0], columns=levels)
    assert quantile_column(frame, 0.5) is not None and quantile_column(frame, 0.5).name == 0.5
    assert np.array_equal(quantile_column(frame, 0.5).to_numpy(), vals[0, :, 2])
    da = xr.DataArray(vals[0], dims=("time", "quantile"), coords={"quantile": levels})
    assert np.array_equal(median_path(da.transpose("quantile", "time")), vals[0, :, 2])


def test_single_level_and_bad_shapes() -> None:
    np.testing.assert_allclose(median_of(np.array([[3.0], [4.0]]), [0.9]), [3.0, 4.0])
    with pytest.raises(ValueError, match="quantiles on axis"):
        quantile_at(VALUES, [0.1, 0.5], 0.5)
    with pytest.raises(ValueError, match="at least one level"):
        quantile_at(np.zeros((2, 0)), [], 0.5)
