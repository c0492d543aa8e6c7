"""The same config trains on CUDA (bf16 autocast) as on CPU; skipped without a GPU."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from gridai.forecast.registry import make_forecaster

from support import load_and_weather, tiny_forecast_config


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_trains_on_cuda_and_forecasts_coherently() -> None:
    load, weather = load_and_weather(days=80)
    cfg = tiny_forecast_config(device="cuda")
    model = make_forecaster(cfg).fit(load, weather, end=pd.Timestamp("2023-03-10"))
    ds = model.predict(load, weather, "2023-03-12")
    fc = ds["load_forecast"]
    assert np.isfinite(fc.values).all()
    assert np.all(np.diff(fc.values, axis=-1) >= 0)
    med = fc.sel(quantile=0.5)
    np.testing.assert_allclose(
        med.sel(series="system"), med.drop_sel(series="system").sum("series"), rtol=1e-6
    )
    assert all(r["train_loss"] > 0 for r in model.history)
