"""Fixtures shared by the test areas (plain helpers and paths are in ``support.py``).

* ``mlflow_uri`` -- an empty MLflow SQLite store per test. Creating one runs MLflow's schema
  migrations (seconds), so one template database is built per session and copied.
* ``case33bw`` -- a factory of fresh case33bw networks: built once (about 0.5 s), deep-copied per
  call (milliseconds), so a test may change its copy in place.
* ``tracking_data`` / ``vanilla_forecaster`` -- the synthetic load and weather of the tracking tests
  and a vanilla MLR fitted on them (read only).
* ``dayahead_inputs`` / ``dayahead_reference`` -- the tiny day-ahead world (three GEFCom2012 zones,
  a saved seasonal-naive champion) and one successful run of it (read only: copy before changing).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from support import (
    DAYAHEAD_DAY,
    GEFCOM_DIR,
    TRACKING_DAY,
    NetFactory,
    dayahead_cfg,
    run_dayahead,
    tracking_load_and_weather,
)


def pytest_configure(config: pytest.Config) -> None:
    # MLflow emits this UserWarning from its own module import (mlflow.types.responses);
    # it says nothing about gridai code.
    config.addinivalue_line("filterwarnings", r"ignore:.*Any type hint is inferred as AnyType:UserWarning")


# --------------------------------------------------------------------------------------- mlflow
@pytest.fixture(scope="session")
def _mlflow_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow import MlflowClient

    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def mlflow_uri(tmp_path: Path, _mlflow_template_db: Path) -> str:
    """URI of an empty MLflow SQLite store in ``tmp_path`` (artifacts go to ``tmp_path/mlartifacts``)."""
    db = tmp_path / "mlflow.db"
    shutil.copyfile(_mlflow_template_db, db)
    return f"sqlite:///{db}"


# --------------------------------------------------------------------------------------- grid
@pytest.fixture(scope="session")
def case33bw() -> NetFactory:
    """``case33bw()`` returns a fresh copy of pandapower's case33bw (``load_network("case33bw")``)."""
    from gridai.grid.topology import load_network

    template = load_network("case33bw")
    return lambda: copy.deepcopy(template)


# ------------------------------------------------------------------------------------- tracking
@pytest.fixture(scope="session")
def tracking_data() -> tuple[xr.Dataset, xr.Dataset]:
    """``(load, weather)`` of :func:`support.tracking_load_and_weather` (45 days from 2021-01-01)."""
    return tracking_load_and_weather()


@pytest.fixture(scope="session")
def vanilla_forecaster(tracking_data: tuple[xr.Dataset, xr.Dataset]) -> Any:
    """Vanilla MLR fitted on ``tracking_data`` up to 2021-02-07."""
    from gridai.forecast.config import ForecastConfig
    from gridai.forecast.registry import make_forecaster

    load, weather = tracking_data
    cfg = ForecastConfig(
        model="vanilla", validation_days=7, min_train_days=14, holiday_country=None, baseline_residual_days=14
    )
    return make_forecaster(cfg).fit(load, weather, end=TRACKING_DAY - pd.Timedelta(days=3))


# ------------------------------------------------------------------------------------ day-ahead
@pytest.fixture(scope="session")
def dayahead_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Wide CSVs of 3 zones / 2 stations (2008-05-25 .. 2008-06-30) and a saved seasonal-naive champion.

    Also ``weather_no_d.csv`` (weather ends two days before D) and ``load_nan.csv`` (zone_2 all NaN).
    """
    from gridai.data.gefcom import read_gefcom_load, read_gefcom_temperature
    from gridai.data.readers import read_wide_csv
    from gridai.forecast.config import ForecastConfig
    from gridai.forecast.registry import make_forecaster

    d = tmp_path_factory.mktemp("dayahead-inputs")
    sl = slice("2008-05-25", "2008-06-30T23:00")
    load = read_gefcom_load(GEFCOM_DIR)["load"].sel(series=["zone_1", "zone_2", "zone_5"], time=sl)
    temp = read_gefcom_temperature(GEFCOM_DIR)["temperature"].sel(station=["station_1", "station_2"], time=sl)
    lf = load.to_pandas().rename_axis("timestamp")
    wf = temp.to_pandas().rename_axis("timestamp")
    lf.to_csv(d / "load.csv")
    wf.to_csv(d / "weather.csv")
    wf[wf.index < pd.Timestamp(DAYAHEAD_DAY) - pd.Timedelta(days=2)].to_csv(d / "weather_no_d.csv")
    nan = lf.copy()
    nan["zone_2"] = np.nan
    nan.to_csv(d / "load_nan.csv", na_rep="")

    ds_load = read_wide_csv(d / "load.csv", kind="load")
    ds_w = read_wide_csv(d / "weather.csv", kind="weather")
    fcfg = ForecastConfig.model_validate(
        {"model": "seasonal_naive", "validation_days": 7, "min_train_days": 7, "baseline_residual_days": 14,
         "reconciliation": "bottom_up", "holiday_country": None}
    )  # fmt: skip
    model = make_forecaster(fcfg).fit(ds_load, ds_w, end=pd.Timestamp(DAYAHEAD_DAY) - pd.Timedelta(hours=14))
    model.save(d / "champion")
    return {"dir": d, "load": d / "load.csv", "weather": d / "weather.csv", "champion": d / "champion"}


@pytest.fixture(scope="session")
def dayahead_reference(dayahead_inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output root of one successful in-process run of :func:`support.dayahead_cfg` for D."""
    from gridai.exceptions import ExitCode

    out = tmp_path_factory.mktemp("dayahead-reference")
    res = run_dayahead(dayahead_cfg(dayahead_inputs), out)
    assert res.exit_code == ExitCode.OK, res.manifest.to_json()
    return out
