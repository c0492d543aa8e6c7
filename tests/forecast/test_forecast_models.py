"""Forecasters on small synthetic data: output format, coherence, quantiles, save/load, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.config import parse_config
from gridai.exceptions import GridAIConfigError, GridAIDataError, GridAIModelError
from gridai.forecast.config import ForecastConfig
from gridai.forecast.output import forecast_to_frame, write_forecast
from gridai.forecast.registry import MODELS, load_forecaster, make_forecaster

from support import load_and_weather, tiny_forecast_config

DAY = "2023-03-28"


@pytest.fixture(scope="module")
def data() -> tuple[xr.Dataset, xr.Dataset]:
    load, weather = load_and_weather(days=100)
    return load, weather


@pytest.fixture(scope="module")
def tiny_cfg() -> ForecastConfig:
    return tiny_forecast_config()


@pytest.fixture(scope="module")
def fitted(data: tuple[xr.Dataset, xr.Dataset], tiny_cfg: ForecastConfig) -> dict[str, object]:
    load, weather = data
    end = pd.Timestamp("2023-03-25")
    return {
        name: make_forecaster(tiny_cfg.model_copy(update={"model": name})).fit(load, weather, end=end)
        for name in MODELS
    }


@pytest.mark.parametrize("name", sorted(MODELS))
def test_output_format_coherent_noncrossing(name: str, fitted: dict, data: tuple) -> None:
    load, weather = data
    ds = fitted[name].predict(load, weather, DAY)
    fc = ds["load_forecast"]
    assert fc.dims == ("time", "series", "quantile")
    assert list(ds["series"].values) == ["system", "series_1", "series_2", "series_3"]
    assert ds.sizes["time"] == 24 and pd.Timestamp(ds["time"].values[0]) == pd.Timestamp(DAY)
    assert ds.attrs["model"] == name and ds.attrs["target_day"] == DAY and ds.attrs["weather"] == "observed"
    assert ds.attrs["issue_time"] == "2023-03-27T10:00:00" and ds.attrs["units"] == "kW"
    assert np.all(np.diff(fc.values, axis=-1) >= 0), "quantiles cross"
    leaves = ["series_1", "series_2", "series_3"]
    for var in (fc.sel(quantile=0.5), ds["load_mean"]):
        total = var.sel(series=leaves).sum("series")
        np.testing.assert_allclose(var.sel(series="system"), total, rtol=1e-6)
    frame = forecast_to_frame(ds)
    assert list(frame.columns) == ["time", "series", "quantile", "load_forecast"]
    assert len(frame) == 24 * 4 * 5


def test_models_against_baselines(fitted: dict, data: tuple) -> None:
    """Vanilla MLR beats seasonal naive; the (data-starved, tiny) network beats a flat forecast at
    the level of the last observed week. GEFCom2012 (experiments/) is where the network is judged."""
    load, weather = data
    days = [d.date() for d in pd.date_range("2023-03-25", "2023-03-31")]
    errs = {}
    for name, model in fitted.items():
        fc = model.predict_days(load, weather, days)
        actual = load["load"].sum("series").reindex(time=fc.times.ravel()).values.reshape(fc.times.shape)
        errs[name] = float(np.mean(np.abs(fc.quantiles[:, :, 0, model.median_index] - actual) / actual))
    system = load["load"].sum("series").to_series()
    flat = []
    for d in days:
        issue = pd.Timestamp(d) - pd.Timedelta(hours=14)
        level = system[(system.index < issue) & (system.index >= issue - pd.Timedelta(days=7))].mean()
        actual_d = system[pd.Timestamp(d) : pd.Timestamp(d) + pd.Timedelta(hours=23)]
        flat.append(np.mean(np.abs(level - actual_d) / actual_d))
    errs["flat"] = float(np.mean(flat))
    assert errs["vanilla"] < errs["seasonal_naive"], errs
    assert errs["gridai_nn"] < errs["flat"], errs


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_load_identical(name: str, fitted: dict, data: tuple, tmp_path: Path) -> None:
    load, weather = data
    model = fitted[name]
    model.save(tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["arrays.safetensors", "forecaster.json"]
    again = load_forecaster(tmp_path / "m")
    assert type(again) is type(model) and again.series == model.series
    a = model.predict(load, weather, DAY)["load_forecast"].values
    b = again.predict(load, weather, DAY)["load_forecast"].values
    np.testing.assert_array_equal(a, b)


def test_corrupt_and_missing_artifacts(fitted: dict, tmp_path: Path) -> None:
    with pytest.raises(GridAIModelError, match="does not exist"):
        load_forecaster(tmp_path / "nothing")
    fitted["vanilla"].save(tmp_path / "m")
    (tmp_path / "m" / "arrays.safetensors").write_bytes(b"garbage")
    with pytest.raises(GridAIModelError, match="corrupt model weights"):
        load_forecaster(tmp_path / "m")
    fitted["vanilla"].save(tmp_path / "j")
    (tmp_path / "j" / "forecaster.json").write_text("{not json")
    with pytest.raises(GridAIModelError, match="corrupt model artifact"):
        load_forecaster(tmp_path / "j")
    doc = json.loads((tmp_path / "m" / "forecaster.json").read_text())
    doc["model"] = "nope"
    fitted["vanilla"].save(tmp_path / "k")
    (tmp_path / "k" / "forecaster.json").write_text(json.dumps(doc))
    with pytest.raises(GridAIModelError, match="unknown model 'nope'"):
        load_forecaster(tmp_path / "k")


def test_bad_input(fitted: dict, data: tuple, tiny_cfg: ForecastConfig) -> None:
    load, weather = data
    model = fitted["gridai_nn"]
    with pytest.raises(GridAIDataError, match="outside the data"):
        model.predict(load, weather, "2024-06-01")
    no_weather = weather.where(weather["time"] < np.datetime64("2023-03-28T06:00"))
    with pytest.raises(GridAIDataError, match="missing for target day 2023-03-28"):
        model.predict(load, no_weather, DAY)
    with pytest.raises(GridAIModelError, match="absent from the load data"):
        model.predict(load.sel(series=["series_1", "series_2"]), weather, DAY)
    with pytest.raises(GridAIConfigError, match="unknown model 'lstm'"):
        make_forecaster(tiny_cfg.model_copy(update={"model": "lstm"}))
    with pytest.raises(GridAIConfigError):
        parse_config(ForecastConfig, {"quantiles": [0.1, 0.9]})
    with pytest.raises(GridAIConfigError):
        parse_config(ForecastConfig, {"epochz": 3})


def test_write_forecast_atomic(fitted: dict, data: tuple, tmp_path: Path) -> None:
    load, weather = data
    ds = fitted["seasonal_naive"].predict(load, weather, DAY)
    write_forecast(ds, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["forecast.nc", "forecasts.csv"]
    back = xr.open_dataset(tmp_path / "out" / "forecast.nc", engine="h5netcdf")
    np.testing.assert_allclose(back["load_forecast"].values, ds["load_forecast"].values)
    back.close()


def test_network_deterministic_on_cpu(fitted: dict, data: tuple, tiny_cfg: ForecastConfig) -> None:
    load, weather = data
    again = make_forecaster(tiny_cfg).fit(load, weather, end=pd.Timestamp("2023-03-25"))
    a = fitted["gridai_nn"].predict(load, weather, DAY)["load_forecast"].values
    np.testing.assert_array_equal(a, again.predict(load, weather, DAY)["load_forecast"].values)
    assert fitted["gridai_nn"].history == again.history
