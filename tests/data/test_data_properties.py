"""Invariants of the data layer, tested with hypothesis.

1. wide CSV -> Dataset -> NetCDF -> Dataset is lossless (values bit for bit, NaN positions, times
   -- also for local-time files across DST transitions -- and attributes);
2. resampling 15 min -> hourly preserves energy;
3. cleaning never changes a value it did not flag as imputed.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import pandas as pd
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gridai.data.io import read_netcdf, write_netcdf
from gridai.data.options import ReaderOptions
from gridai.data.readers import read_wide_csv
from gridai.data.resample import resample
from gridai.data.schema import make_load_dataset
from gridai.data.validation import QualityConfig, check_load, clean
from gridai.testing import write_wide_csv

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False, width=64)
maybe_nan = st.one_of(finite, st.just(float("nan")))
names = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8).filter(
        lambda s: (
            s.lower()
            not in {"timestamp", "time", "datetime", "date", "date_time", "datetime_utc", "time_utc"}
        )
    ),
    min_size=1,
    max_size=4,
    unique=True,
)
# starts in 2024 near both Amsterdam transitions (and New York's), or anywhere
starts = st.one_of(
    st.sampled_from(["2024-03-30 20:00", "2024-10-26 20:00", "2024-03-09 20:00", "2024-11-02 20:00"]),
    st.datetimes(
        min_value=pd.Timestamp("2000-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2030-01-01").to_pydatetime(),
    ).map(lambda d: str(pd.Timestamp(d).floor("h"))),
)


@st.composite
def load_datasets(draw: st.DrawFn) -> xr.Dataset:
    series = draw(names)
    n = draw(st.integers(min_value=2, max_value=60))
    freq = draw(st.sampled_from(["15min", "1h"]))
    values = draw(arrays(np.float64, (n, len(series)), elements=maybe_nan))
    time = pd.date_range(draw(starts), periods=n, freq=freq)
    return make_load_dataset(values, time, series, resolution=freq)


@settings(SETTINGS, max_examples=25)
@given(ds=load_datasets(), tz=st.sampled_from(["UTC", "Europe/Amsterdam", "America/New_York"]))
def test_wide_csv_netcdf_round_trip_is_lossless(ds: xr.Dataset, tz: str) -> None:
    with TemporaryDirectory() as tmp:
        csv = write_wide_csv(ds, Path(tmp) / "in.csv", tz=tz)
        read = read_wide_csv(csv, opts=ReaderOptions(tz=tz, resolution=ds.attrs["resolution"]))
        np.testing.assert_array_equal(read["time"].values, ds["time"].values)
        np.testing.assert_array_equal(read["load"].values, ds["load"].values)  # NaN == NaN here
        assert list(read["series"].values) == list(ds["series"].values)
        back = read_netcdf(write_netcdf(read, Path(tmp) / "out.nc"))
        xr.testing.assert_identical(back, read)


@SETTINGS
@given(
    hours=st.integers(min_value=1, max_value=48),
    n_series=st.integers(min_value=1, max_value=3),
    data=st.data(),
)
def test_quarter_hour_to_hourly_preserves_energy(hours: int, n_series: int, data: st.DataObject) -> None:
    p_kw = data.draw(arrays(np.float64, (4 * hours, n_series), elements=st.floats(0, 1e6, allow_nan=False)))
    time = pd.date_range("2024-01-01", periods=4 * hours, freq="15min")
    ds = make_load_dataset(p_kw, time, [f"s{i}" for i in range(n_series)], resolution="15min")
    hourly = resample(ds, "1h")
    e_quarter_kwh = p_kw.sum(axis=0) * 0.25
    e_hourly_kwh = hourly["load"].values.sum(axis=0) * 1.0
    np.testing.assert_allclose(e_hourly_kwh, e_quarter_kwh, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        resample(hourly, "15min")["load"].values.sum(axis=0) * 0.25, e_hourly_kwh, rtol=1e-12
    )


@st.composite
def dirty_datasets(draw: st.DrawFn) -> xr.Dataset:
    n = draw(st.integers(min_value=8, max_value=24 * 21))
    n_series = draw(st.integers(min_value=1, max_value=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    t = np.arange(n)
    values = 100 + 30 * np.sin(2 * np.pi * t / 24)[:, None] + rng.normal(0, 3, (n, n_series))
    # plant defects: missing runs, negatives, spikes, infinities, stuck values, zeros
    for _ in range(draw(st.integers(0, 6))):
        j = int(rng.integers(n_series))
        a = int(rng.integers(n))
        length = int(rng.integers(1, 40))
        values[a : a + length, j] = draw(st.sampled_from([np.nan, -10.0, 1e5, np.inf, 42.0, 0.0]))
    keep = np.sort(
        rng.choice(n, size=max(2, n - int(rng.integers(0, 4))), replace=False)
    )  # absent timestamps
    time = pd.date_range("2024-01-01", periods=n, freq="1h")[keep]
    return make_load_dataset(values[keep], time, [f"s{i}" for i in range(n_series)], resolution="1h")


@SETTINGS
@given(ds=dirty_datasets(), impute_outliers=st.booleans())
def test_cleaning_never_changes_an_unflagged_value(ds: xr.Dataset, impute_outliers: bool) -> None:
    cfg = QualityConfig.model_validate({"cleaning": {"impute_outliers": impute_outliers}})
    findings = check_load(ds, cfg=cfg)
    if any(f.kind == "empty_series" for f in findings):
        return  # cleaning refuses (tested elsewhere)
    out = clean(ds, findings, cfg)
    at_input = out.sel(time=ds["time"])
    flagged = at_input["imputed"].values
    np.testing.assert_array_equal(at_input["load"].values[~flagged], ds["load"].values[~flagged])
    inserted = ~np.isin(out["time"].values, ds["time"].values)
    assert np.isnan(out["load"].values[inserted][~out["imputed"].values[inserted]]).all()
