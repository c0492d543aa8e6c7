"""The same config trains on CUDA (bf16 autocast) as on CPU; skipped without a GPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gridai.config import load_config
from gridai.forecast.config import ForecastConfig
from gridai.forecast.registry import make_forecaster
from gridai.testing import synthetic_load, synthetic_weather

TINY = Path(__file__).resolve().parents[2] / "configs" / "forecast" / "tiny.yaml"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_trains_on_cuda_and_forecasts_coherently() -> None:
    weather = synthetic_weather(2, start="2023-01-01", days=80, seed=1)
    load = synthetic_load(3, start="2023-01-01", days=80, seed=2, weather=weather)
    cfg = load_config(ForecastConfig, TINY).model_copy(update={"device": "cuda"})
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
