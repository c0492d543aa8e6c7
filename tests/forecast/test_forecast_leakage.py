"""Property: a forecast depends on nothing that happens after its issue time.

Everything after the issue time is perturbed -- load of intervals not yet ended, observed
weather of intervals not yet ended, weather forecasts issued later -- and the forecast must
not change (bit for bit), for every model, issue lead and target day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridai.forecast.base import Forecaster
from gridai.forecast.registry import MODELS, make_forecaster
from gridai.testing import synthetic_weather_forecast

from support import load_and_weather, tiny_forecast_config


@pytest.fixture(scope="module")
def world() -> tuple[xr.Dataset, xr.Dataset, xr.Dataset, dict[str, Forecaster]]:
    load, weather = load_and_weather(days=75)
    wf = synthetic_weather_forecast(2, start="2023-01-01", days=75, seed=1)
    cfg = tiny_forecast_config(epochs=2, refit_full=False)
    end = pd.Timestamp("2023-03-01")
    models = {
        n: make_forecaster(cfg.model_copy(update={"model": n})).fit(load, weather, end=end) for n in MODELS
    }
    return load, weather, wf, models


def _perturb_after(
    load: xr.Dataset, weather: xr.Dataset, wf: xr.Dataset, issue: pd.Timestamp, seed: int
) -> tuple[xr.Dataset, xr.Dataset, xr.Dataset]:
    rng = np.random.default_rng(seed)
    step = pd.Timedelta("1h")
    unseen = (pd.DatetimeIndex(load["time"].values) + step) > issue
    new_load = load.copy(deep=True)
    new_load["load"].values[unseen] *= rng.uniform(0.2, 3.0, size=new_load["load"].values[unseen].shape)
    unseen_w = (pd.DatetimeIndex(weather["time"].values) + step) > issue
    new_weather = weather.copy(deep=True)
    new_weather["temperature"].values[unseen_w] += rng.normal(
        0, 15, size=new_weather["temperature"].values[unseen_w].shape
    )
    late = pd.DatetimeIndex(wf["issue_time"].values) > issue
    new_wf = wf.copy(deep=True)
    new_wf["temperature"].values[late] += rng.normal(0, 15, size=new_wf["temperature"].values[late].shape)
    return new_load, new_weather, new_wf


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(sorted(MODELS)),
    day_offset=st.integers(min_value=0, max_value=12),
    lead=st.sampled_from([0.0, 6.5, 14.0]),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_forecast_ignores_everything_after_issue_time(
    world: tuple, name: str, day_offset: int, lead: float, seed: int
) -> None:
    load, weather, wf, models = world
    model = models[name]
    model.cfg = model.cfg.model_copy(update={"issue_lead_hours": lead})
    day = (pd.Timestamp("2023-03-01") + pd.Timedelta(days=day_offset)).date()
    issue = pd.Timestamp(day) - pd.Timedelta(hours=lead)
    before = model.predict(load, weather, day, weather_forecast=wf)
    assert before.attrs["issue_time"] == issue.isoformat() and before.attrs["weather"] == "forecast"
    p_load, p_weather, p_wf = _perturb_after(load, weather, wf, issue, seed)
    assert not np.allclose(p_load["load"].values, load["load"].values)  # the perturbation is real
    after = model.predict(p_load, p_weather, day, weather_forecast=p_wf)
    np.testing.assert_array_equal(before["load_forecast"].values, after["load_forecast"].values)
    np.testing.assert_array_equal(before["load_mean"].values, after["load_mean"].values)


def test_perturbing_before_issue_time_does_change_the_forecast(world: tuple) -> None:
    """Guards the property test against a model that ignores its inputs altogether."""
    load, weather, wf, models = world
    model = models["gridai_nn"]
    model.cfg = model.cfg.model_copy(update={"issue_lead_hours": 14.0})
    day = "2023-03-05"
    before = model.predict(load, weather, day, weather_forecast=wf)["load_forecast"].values
    changed = load.copy(deep=True)
    changed["load"].loc[{"time": slice("2023-03-03", "2023-03-04T08:00")}] *= 1.5
    after = model.predict(changed, weather, day, weather_forecast=wf)["load_forecast"].values
    assert not np.allclose(before, after)
