"""The model's weather inputs are per station: renamed stations are an error, reordered ones are aligned."""

from __future__ import annotations

import numpy as np
import pytest

from gridai.exceptions import GridAIDataError
from gridai.forecast.registry import make_forecaster

from support import load_and_weather, tiny_forecast_config


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    load, weather = load_and_weather(days=60)
    model = make_forecaster(tiny_forecast_config(model="vanilla"))
    model.fit(load, weather, end=np.datetime64("2023-02-25"))
    return model, load, weather


def test_renamed_station_is_an_error_naming_it(fitted) -> None:  # type: ignore[no-untyped-def]
    model, load, weather = fitted
    first = str(weather["station"].values[0])
    renamed = weather.assign_coords(
        station=[f"{s}_new" if s == first else s for s in weather["station"].values]
    )
    with pytest.raises(GridAIDataError, match=first):
        model.predict_days(load, renamed, ["2023-02-26"])


def test_reordered_stations_give_the_same_forecast(fitted) -> None:  # type: ignore[no-untyped-def]
    model, load, weather = fitted
    a = model.predict_days(load, weather, ["2023-02-26"])
    b = model.predict_days(load, weather.isel(station=slice(None, None, -1)), ["2023-02-26"])
    np.testing.assert_array_equal(a.quantiles, b.quantiles)
