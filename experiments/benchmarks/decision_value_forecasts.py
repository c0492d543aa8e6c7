"""Day-ahead forecasts for the decision-quality benchmark, trained once and cached.

Each model is fitted by gridai's registry on GEFCom2012 data strictly before the first test
day and then forecasts every test day from data known at its own issue time
(``issue_lead_hours`` before local midnight, default 14 = 10:00 on D-1) with **observed**
temperature (ex-post weather, as the accuracy benchmark does). The result is cached as
``out/decision_value_forecasts_<model>.nc`` (``load_forecast`` ``(time, series, quantile)``
[kW], leaves only) so that reruns of the benchmark skip training.

Usage (also called by ``decision_value.py``)::

    python experiments/benchmarks/decision_value_forecasts.py gridai_nn [--config FILE.yaml]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

OUT = Path(__file__).resolve().parent / "out"
logger = logging.getLogger("decision_value")


def cache_path(model: str, tag: str = "") -> Path:
    return OUT / f"decision_value_forecasts_{model}{tag}.nc"


def forecast_days(
    model: str,
    load: xr.Dataset,
    weather: xr.Dataset,
    days: list[dt.date],
    *,
    config: Path | None = None,
    refresh: bool = False,
    tag: str = "",
) -> xr.DataArray:
    """Quantile forecasts ``(time, series, quantile)`` [kW] of the zones for every day in ``days``.

    Trained on data before ``days[0]`` with the model's default :class:`ForecastConfig`
    (or the YAML ``config``), cached under ``out/``.
    """
    path = cache_path(model, tag)
    if path.exists() and not refresh:
        da = xr.open_dataarray(path, engine="h5netcdf").load()
        want = pd.date_range(pd.Timestamp(days[0]), periods=24 * len(days), freq="h")
        if pd.DatetimeIndex(da["time"].values).isin(want).sum() == len(want):
            logger.info("forecasts of %s read from %s", model, path)
            return da.sel(time=want)
        logger.info("cached forecasts in %s do not cover the days: recomputing", path)

    from gridai.forecast.config import ForecastConfig
    from gridai.forecast.registry import make_forecaster
    from gridai.outputs import atomic_path

    if config is not None:
        import yaml

        cfg = ForecastConfig.model_validate(yaml.safe_load(config.read_text(encoding="utf-8")))
        cfg = cfg.model_copy(update={"model": model})
    else:
        cfg = ForecastConfig(model=model, progress_bar=False)
    forecaster = make_forecaster(cfg)
    t0 = time.perf_counter()
    forecaster.fit(load, weather, end=pd.Timestamp(days[0]))
    fit_s = time.perf_counter() - t0
    fc = forecaster.predict_days(load, weather, list(days))
    zones = [str(s) for s in load["series"].values]
    idx = [fc.nodes.index(z) for z in zones]
    q = fc.quantiles[:, :, idx, :].reshape(-1, len(idx), len(fc.quantile_levels))
    da = xr.DataArray(
        q,
        dims=("time", "series", "quantile"),
        coords={
            "time": np.asarray(fc.times).reshape(-1).astype("datetime64[ns]"),
            "series": zones,
            "quantile": np.asarray(fc.quantile_levels, dtype=float),
        },
        name="load_forecast",
        attrs={
            "model": model,
            "issue_lead_hours": float(cfg.issue_lead_hours),
            "weather": fc.weather,
            "fit_seconds": fit_s,
            "config": cfg.model_dump_json(),
            "units": "kW",
        },
    )
    with atomic_path(path) as tmp:
        da.to_netcdf(tmp, engine="h5netcdf")
    logger.info("%s fitted in %.1f s; forecasts cached in %s", model, fit_s, path)
    return da


def main() -> None:
    from gridai.data.gefcom import read_gefcom_load, read_gefcom_temperature

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--config", type=Path, default=None, help="ForecastConfig YAML (default: defaults)")
    ap.add_argument("--tag", default="", help="suffix of the cache file name")
    ap.add_argument("--start", default="2008-01-01")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--refresh", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    days = [d.date() for d in pd.date_range(args.start, periods=args.days, freq="D")]
    load, weather = read_gefcom_load(), read_gefcom_temperature()
    da = forecast_days(
        args.model, load, weather, days, config=args.config, refresh=args.refresh, tag=args.tag
    )
    print(da.sizes, da.attrs.get("fit_seconds"))


if __name__ == "__main__":
    main()
