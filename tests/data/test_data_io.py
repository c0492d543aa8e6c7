"""NetCDF / Parquet persistence: lossless, atomic, clear errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from gridai.data import io
from gridai.data.io import read_netcdf, read_parquet, write_netcdf, write_parquet
from gridai.exceptions import GridAIDataError
from gridai.testing import synthetic_load, synthetic_weather_forecast


def test_netcdf_round_trip_is_identical(tmp_path: Path) -> None:
    ds = synthetic_load(3, days=2, parents={"series_1": "feeder_a"})
    ds["imputed"] = (("time", "series"), np.zeros((ds.sizes["time"], 3), dtype=bool))
    ds["load"].values[4, 1] = np.nan
    ds.attrs.update(flag=True, nothing=None, spans=["a/b"], nested={"k": [1, 2]}, empty=[], count=3)
    back = read_netcdf(write_netcdf(ds, tmp_path / "sub" / "x.nc"))
    xr.testing.assert_identical(back, ds)
    assert back["series"].dtype == object and back["parent"].dtype == object
    assert back["time"].dtype == np.dtype("datetime64[ns]") and back["imputed"].dtype == bool
    assert back.attrs["spans"] == ["a/b"] and back.attrs["flag"] is True


def test_forecast_cube_round_trip(tmp_path: Path) -> None:
    fc = synthetic_weather_forecast(2, days=3)
    xr.testing.assert_identical(read_netcdf(write_netcdf(fc, tmp_path / "fc.nc")), fc)


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ds = synthetic_load(2, days=1)
    target = tmp_path / "new" / "deeper" / "x.nc"

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(OSError, match="disk full"):
        write_netcdf(ds, target)
    assert not (tmp_path / "new").exists()


def test_overwrite_is_atomic_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "x.nc"
    write_netcdf(synthetic_load(2, days=1, seed=1), target)
    write_netcdf(synthetic_load(2, days=1, seed=2), target)
    assert [p.name for p in tmp_path.iterdir()] == ["x.nc"]
    assert target.stat().st_mode & 0o044, "readable by group/others like any other file"


def test_parquet_round_trip(tmp_path: Path) -> None:
    ds = synthetic_load(2, days=1)
    frame = read_parquet(write_parquet(ds, tmp_path / "x.parquet"))
    assert list(frame.columns) == ["time", "series", "load", "parent"]
    assert len(frame) == ds.sizes["time"] * 2 and frame.attrs["units"] == "kW"
    np.testing.assert_allclose(frame["load"].to_numpy(), ds["load"].values.ravel())


def _file(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make", "match"),
    [
        pytest.param(lambda p: p / "missing.nc", "does not exist", id="missing"),
        pytest.param(lambda p: p, "is a directory", id="directory"),
        pytest.param(lambda p: _file(p / "e.nc", b""), "empty", id="empty"),
        pytest.param(lambda p: _file(p / "t.nc", b"hello"), "not a readable NetCDF", id="garbage"),
    ],
)
def test_read_errors(tmp_path: Path, make: Callable[[Path], Path], match: str) -> None:
    with pytest.raises(GridAIDataError, match=match):
        read_netcdf(make(tmp_path))


def test_unstorable_attribute_is_a_clear_error(tmp_path: Path) -> None:
    ds = synthetic_load(1, days=1)
    ds.attrs["obj"] = object()
    with pytest.raises(GridAIDataError, match="cannot store attributes"):
        io.write_netcdf(ds, tmp_path / "x.nc")
    assert not (tmp_path / "x.nc").exists()
