"""Quality checks and cleaning on synthetic data with one planted defect each."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from pydantic import ValidationError

from gridai.data.schema import make_load_dataset
from gridai.data.validation import QualityConfig, check_load, check_weather, clean
from gridai.exceptions import Finding, GridAIDataError
from gridai.testing import corrupt, synthetic_load, synthetic_meter_data, synthetic_weather


@pytest.fixture(scope="module")
def base() -> xr.Dataset:
    return synthetic_load(4, days=21, seed=3)


def kinds(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.kind, []).append(f)
    return out


def test_clean_synthetic_data_has_no_findings(base: xr.Dataset) -> None:
    assert check_load(base, strict=True) == []
    assert [f.kind for f in check_weather(synthetic_weather(3, days=21), strict=True)] == []


@pytest.mark.parametrize(
    ("value", "positions", "kind", "severity"),
    [
        pytest.param(np.nan, range(30, 33), "gap", "warning", id="short-gap"),
        pytest.param(np.nan, range(30, 60), "gap", "error", id="long-gap"),
        pytest.param(-5.0, [40], "negative", "error", id="negative"),
        pytest.param(np.inf, [40], "non_finite", "error", id="infinite"),
        pytest.param(5e12, [40], "implausible_value", "error", id="implausible"),
        pytest.param(123.0, range(100, 110), "flatline", "warning", id="flatline"),
        pytest.param(0.0, range(100, 110), "zero_flatline", "warning", id="zero-flatline"),
        pytest.param(2000.0, [200], "outlier", "warning", id="spike"),
    ],
)
def test_planted_defect_is_found_with_series_and_time(
    base: xr.Dataset, value: float, positions: range | list[int], kind: str, severity: str
) -> None:
    ds = corrupt(base, series="series_2", at=list(positions), value=value)
    found = kinds(check_load(ds))
    assert list(found) == [kind], found
    (f,) = found[kind]
    assert f.severity == severity and f.series == "series_2"
    first = pd.Timestamp(base["time"].values[min(positions)])
    assert f.start is not None and pd.Timestamp(f.start) == first


def test_strict_mode_raises_naming_file_series_and_timestamps(
    base: xr.Dataset, caplog: pytest.LogCaptureFixture
) -> None:
    ds = corrupt(base, series="series_3", at=[50], value=-1.0)
    ds = corrupt(ds, series="series_1", at=[300], value=3000.0)  # a warning: logged before the raise
    ds.attrs["source_file"] = "meters.csv"
    with (
        caplog.at_level(logging.WARNING, logger="gridai.data.validation"),
        pytest.raises(GridAIDataError) as err,
    ):
        check_load(ds, strict=True)
    msg = str(err.value)
    assert "negative" in msg and "series_3" in msg and "meters.csv" in msg
    assert str(pd.Timestamp(base["time"].values[50]).date()) in msg
    assert err.value.details["series"] == "series_3"
    assert "outlier" in caplog.text


def test_structural_findings_block_cleaning(base: xr.Dataset) -> None:
    dup = xr.concat([base.isel(time=slice(0, 10)), base.isel(time=slice(9, 20))], dim="time")
    found = kinds(check_load(dup))
    assert "duplicate_timestamp" in found
    with pytest.raises(GridAIDataError, match="cannot clean"):
        clean(dup, check_load(dup))
    backwards = base.isel(time=[0, 2, 1, 3])
    assert "non_monotonic" in kinds(check_load(backwards))


def test_missing_timestamps_are_inserted_and_imputed(base: xr.Dataset) -> None:
    holed = base.drop_isel(time=[20, 21])
    found = kinds(check_load(holed))
    assert found["missing_timestamps"][0].count == 2 and found["gap"][0].series is None
    out = clean(holed, check_load(holed))
    assert out.sizes["time"] == base.sizes["time"]
    assert out["imputed"].values[20:22].all() and out["imputed"].values.sum() == 8


def test_empty_and_incomplete_series() -> None:
    ds = synthetic_load(3, days=10)
    ds["load"].values[:, 0] = np.nan
    ds["load"].values[: 24 * 5, 1] = np.nan
    found = kinds(check_load(ds, cfg=QualityConfig(gap_error_hours=1000)))
    assert found["empty_series"][0].series == "series_1" and found["empty_series"][0].severity == "error"
    assert found["low_completeness"][0].series == "series_2"
    with pytest.raises(GridAIDataError, match="series_1"):
        clean(ds, check_load(ds))


def test_solar_nights_are_not_zero_flatlines() -> None:
    meters = synthetic_meter_data(12, days=20, pv_fraction=0.5, seed=1)
    pv = meters.attrs["pv_meters"]
    assert pv, "the factory made PV meters"
    found = kinds(check_load(meters))
    assert "zero_flatline" not in found
    snowed = corrupt(meters, series=pv[0], at=list(range(96 * 5, 96 * 8)), value=0.0)  # three days of zeros
    (f,) = kinds(check_load(snowed))["zero_flatline"]
    assert f.series == pv[0]


def test_identical_series_and_level_shift() -> None:
    ds = synthetic_load(4, days=120, seed=5)
    ds["load"].values[:, 3] = ds["load"].values[:, 1]
    ds["load"].values[24 * 60 :, 2] *= 3.0
    found = kinds(check_load(ds))
    assert [f.series for f in found["identical_series"]] == ["series_4"]
    (shift,) = found["level_shift"]
    assert shift.series == "series_3" and shift.start is not None
    assert abs(pd.Timestamp(shift.start) - pd.Timestamp(ds["time"].values[24 * 60])) <= pd.Timedelta(days=3)


def test_dst_transitions_reported_as_info() -> None:
    ds = synthetic_load(2, start="2024-03-25", days=10)
    ds.attrs.update(source_tz="Europe/Amsterdam")
    (f,) = check_load(ds, strict=True)
    assert f.kind == "dst_transition" and f.severity == "info" and f.start == "2024-03-31T01:00:00"


def test_weather_range_and_flatline() -> None:
    w = synthetic_weather(2, days=5)
    w["temperature"].values[10, 0] = -999.0  # sentinel
    w["temperature"].values[30:60, 1] = 4.0
    found = kinds(check_weather(w))
    assert found["implausible_value"][0].series == "station_1"
    assert found["flatline"][0].series == "station_2"
    out = clean(w, check_weather(w))
    assert out["imputed"].values[10, 0] and -50 < out["temperature"].values[10, 0] < 60


def test_clean_acts_only_on_the_findings_given(base: xr.Dataset) -> None:
    ds = corrupt(base, series="series_1", at=[77], value=5000.0)
    findings = check_load(ds)
    assert [f.kind for f in findings] == ["outlier"]
    kept = clean(ds, [])
    assert not kept["imputed"].values.any() and kept["load"].values[77, 0] == 5000.0
    fixed = clean(ds, findings)
    assert fixed["imputed"].values[77, 0] and fixed["imputed"].values.sum() == 1
    assert fixed["load"].values[77, 0] == pytest.approx(
        (ds["load"].values[76, 0] + ds["load"].values[78, 0]) / 2
    )
    assert fixed.attrs["cleaned"] is True


def test_disabled_checks_and_config_validation(base: xr.Dataset) -> None:
    ds = corrupt(base, series="series_1", at=[77], value=5000.0)
    assert check_load(ds, cfg=QualityConfig(disabled_checks=["outlier"])) == []
    with pytest.raises(ValidationError, match="extra"):
        QualityConfig.model_validate({"outlier_zz": 3})
    with pytest.raises(ValidationError):
        QualityConfig.model_validate({"min_completeness": 2.0})
    assert all(field.description for field in QualityConfig.model_fields.values())


def test_wrong_dataset_shape_is_a_clear_error() -> None:
    weather = synthetic_weather(1, days=2)
    with pytest.raises(GridAIDataError, match="load"):
        check_load(weather)
    ds = make_load_dataset(np.ones((1, 1)), pd.DatetimeIndex(["2024-01-01"]), ["a"])
    assert check_load(ds) == []
