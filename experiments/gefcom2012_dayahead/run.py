"""GEFCom2012 day-ahead accuracy benchmark: seasonal naive, Hong's vanilla MLR, a LightGBM
reference with lags >= 24 h, and gridai's global quantile network, side by side.

Protocol (the competition's setting): system = sum of the 20 zones; test year 2007-07-01 ..
2008-06-30 (the load history stops at 2008-06-30 05:00, so that day is scored on its first
6 hours); trained once on all earlier data; issue lead 0 h by default (``--lead 14`` gives the
operational setting); observed temperature (ex-post). Prints the table and writes
``results.json`` next to this script (``results_lead<H>.json`` for another lead).

``--test-start`` / ``--test-end`` move the test period (trained once on all data before its
start), e.g. the held-back year 2006-07-01 .. 2007-07-01, which the calibration was not
designed on; results then go to ``results_test<start>_lead<H>.json``.

Usage::

    .venv/bin/python experiments/gefcom2012_dayahead/run.py            # all four methods, lead 0
    .venv/bin/python experiments/gefcom2012_dayahead/run.py --lead 14 --methods gridai
    .venv/bin/python experiments/gefcom2012_dayahead/run.py --methods gridai --test-start 2006-07-01 \
        --test-end 2007-07-01
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.data.gefcom import read_gefcom_holidays, read_gefcom_load, read_gefcom_temperature
from gridai.features.calendar import holiday_dates
from gridai.forecast.backtest import run_backtest
from gridai.forecast.config import ForecastConfig
from gridai.forecast.metrics import score

HERE = Path(__file__).resolve().parent
TRAIN_END = "2007-07-01"
TEST_END = "2008-07-01"
CHAMPION = Path(__file__).resolve().parents[2] / "configs" / "forecast" / "gefcom2012.yaml"
GRIDAI_METHODS = {"seasonal_naive": "seasonal_naive", "vanilla": "vanilla", "gridai": "gridai_nn"}
logger = logging.getLogger("gefcom2012_dayahead")


def _gbm_features(
    load: xr.Dataset, weather: xr.Dataset, holidays: set[Any], train_end: str = TRAIN_END
) -> tuple[pd.DataFrame, np.ndarray]:
    """Hourly features per zone: lags 24/48/168 h, the previous-day mean (lagged 24 h), all station
    temperatures, their mean and its 1-3 h lags and daily mean, calendar. Every lag is >= 24 h, so
    all are observed at a 00:00 issue time (lead 0)."""
    y = load["load"].transpose("time", "series").to_pandas()
    y = y.reindex(pd.date_range(y.index[0], y.index[-1] + pd.Timedelta(days=1), freq="1h"))
    t = weather["temperature"].transpose("time", "station").to_pandas().reindex(y.index)
    tm = t.mean(axis=1)
    day_mean_t = tm.groupby(tm.index.floor("D")).transform("mean")
    frames = []
    scale = y[y.index < pd.Timestamp(train_end)].mean()
    for k, zone in enumerate(y.columns):
        z = y[zone] / scale[zone]
        f = pd.DataFrame(index=y.index)
        f["zone"] = k
        for lag in (24, 25, 48, 72, 168, 336):
            f[f"lag{lag}"] = z.shift(lag)
        f["prevday_mean"] = z.shift(24).rolling(24).mean()
        for s in t.columns:
            f[f"t_{s}"] = t[s]
        f["t_mean"] = tm
        for lag in (1, 2, 3, 24):
            f[f"t_mean_lag{lag}"] = tm.shift(lag)
        f["t_day_mean"] = day_mean_t
        f["hour"] = y.index.hour
        f["dow"] = y.index.dayofweek
        f["doy"] = y.index.dayofyear
        f["holiday"] = np.isin(y.index.date, list(holidays)).astype(float)
        f["target"] = z
        f["scale"] = scale[zone]
        frames.append(f)
    frame = pd.concat(frames)
    return frame, np.asarray(y.columns)


def run_gbm(
    load: xr.Dataset,
    weather: xr.Dataset,
    holiday_list: list[Any],
    quantiles: list[float],
    train_end: str = TRAIN_END,
    test_end: str = TEST_END,
) -> dict[str, Any]:
    """LightGBM reference (one global model over the zones, target scaled per zone).

    Quantiles: the median forecast plus empirical quantiles of relative errors on the last 56
    training days, from a model fitted without them; then refitted on all training data.
    """
    import lightgbm as lgb

    hol = holiday_dates(range(2003, 2010), country=None, extra=holiday_list)
    frame, zones = _gbm_features(load, weather, hol, train_end)
    feats = [c for c in frame.columns if c not in ("target", "scale")]
    end, val_start = pd.Timestamp(train_end), pd.Timestamp(train_end) - pd.Timedelta(days=56)
    ok = frame["target"].notna() & frame["lag336"].notna()
    params = dict(
        objective="l2",
        learning_rate=0.08,
        num_leaves=63,
        min_data_in_leaf=50,
        feature_fraction=0.8,
        bagging_fraction=0.8,
        bagging_freq=1,
        verbose=-1,
        seed=0,
        num_threads=2,
    )
    tr = frame[ok & (frame.index < val_start)]
    va = frame[ok & (frame.index >= val_start) & (frame.index < end)]
    t0 = time.perf_counter()
    m1 = lgb.train(
        params, lgb.Dataset(tr[feats], tr["target"], categorical_feature=["zone"]), num_boost_round=300
    )
    rel = (va["target"] - m1.predict(va[feats])) / va["target"]
    offsets = np.quantile(rel, quantiles) - np.quantile(rel, 0.5)
    full = frame[ok & (frame.index < end)]
    m2 = lgb.train(
        params, lgb.Dataset(full[feats], full["target"], categorical_feature=["zone"]), num_boost_round=300
    )
    seconds = time.perf_counter() - t0
    test = frame[(frame.index >= end) & (frame.index < pd.Timestamp(test_end))].copy()
    test["pred"] = m2.predict(test[feats]) * test["scale"]
    test["actual"] = test["target"] * test["scale"]
    out: dict[str, Any] = {"zones": {}, "train_seconds": seconds}
    qs = {}
    for k, zone in enumerate(zones):
        z = test[test["zone"] == k]
        qz = z["pred"].to_numpy()[:, None] * (1.0 + offsets[None, :])
        qs[zone] = (z["actual"].to_numpy(), qz)
        out["zones"][str(zone)] = score(qs[zone][0], qz, quantiles)
    actual_sys = np.sum([a for a, _ in qs.values()], axis=0)
    q_sys = np.sum([q for _, q in qs.values()], axis=0)  # sum of zone quantiles (comonotone)
    out["system"] = score(actual_sys, q_sys, quantiles)
    return out


def run_gridai_method(
    model: str,
    cfg: ForecastConfig,
    load: xr.Dataset,
    weather: xr.Dataset,
    train_end: str = TRAIN_END,
    test_end: str = TEST_END,
) -> dict[str, Any]:
    res = run_backtest(
        cfg.model_copy(update={"model": model}),
        load,
        weather,
        train_end=train_end,
        test_end=test_end,
        progress=False,
    )
    m = res.metrics
    return {
        "system": m["system"],
        "zones": m["series"],
        "train_seconds": m["train_seconds"],
        "reconciliation": m["reconciliation"],
        "calibration": res.forecasters[-1].info.get("calibration", {"method": "none"}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lead", type=float, default=0.0, help="issue lead [h] before 00:00 of the target day")
    ap.add_argument("--methods", nargs="+", default=["seasonal_naive", "vanilla", "gridai", "gbm_lags"])
    ap.add_argument("--config", type=Path, default=CHAMPION, help="gridai champion config")
    ap.add_argument(
        "--calibration",
        choices=["none", "cqr", "cqr_hourly"],
        default=None,
        help="override the config's quantile calibration (default: the config's, else ForecastConfig's)",
    )
    ap.add_argument(
        "--calibration-days",
        type=int,
        default=None,
        help="override calibration_days (56 = the validation days, no extra training)",
    )
    ap.add_argument("--test-start", default=TRAIN_END, help="first test day; trained on all data before it")
    ap.add_argument("--test-end", default=TEST_END, help="day after the last test day")
    ap.add_argument("--tag", default="", help="suffix of the method names in the results file (e.g. _none)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from gridai.config import load_config

    load, weather, hol = read_gefcom_load(), read_gefcom_temperature(), read_gefcom_holidays()
    update: dict[str, Any] = {"issue_lead_hours": args.lead, "extra_holidays": hol, "progress_bar": False}
    if args.calibration is not None:
        update["calibration"] = args.calibration
    if args.calibration_days is not None:
        update["calibration_days"] = args.calibration_days
    cfg = load_config(ForecastConfig, args.config).model_copy(update=update)
    default_period = (args.test_start, args.test_end) == (TRAIN_END, TEST_END)
    if not default_period:
        name = f"results_test{args.test_start}_lead{args.lead:g}.json"
    else:
        name = "results.json" if args.lead == 0 else f"results_lead{args.lead:g}.json"
    path = HERE / name
    old: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for method in args.methods:
        t0 = time.perf_counter()
        if method == "gbm_lags":
            result = run_gbm(load, weather, hol, cfg.quantiles, args.test_start, args.test_end)
        else:
            result = run_gridai_method(
                GRIDAI_METHODS[method], cfg, load, weather, args.test_start, args.test_end
            )
        result["wall_seconds"] = time.perf_counter() - t0
        logger.info(
            "%s: system MAPE %.2f %% (%.0f s)", method, result["system"]["mape"], result["wall_seconds"]
        )
        old[method + args.tag] = result
        path.write_text(json.dumps(old, indent=1, default=float))  # after every method: partial runs count
    gbm = old.get("gbm_lags", {}).get("zones", {})
    last = (pd.Timestamp(args.test_end) - pd.Timedelta(days=1)).date()
    print(
        f"\nGEFCom2012 day-ahead, test {args.test_start} .. {last}, issue lead {args.lead:g} h, observed temperature"
    )
    print(
        f"{'method':20s} {'MAPE %':>7s} {'acc %':>7s} {'pinball kW':>11s} {'CRPS kW':>8s} {'cov50':>6s} "
        f"{'cov80':>6s} {'train s':>8s} zones<GBM"
    )
    for method, r in old.items():
        s = r["system"]
        beats = (
            sum(r["zones"][z]["mape"] < gbm[z]["mape"] for z in gbm) if gbm and method != "gbm_lags" else "-"
        )
        print(
            f"{method:20s} {s['mape']:7.2f} {s['accuracy']:7.2f} {s['pinball']:11.0f} "
            f"{s.get('crps', float('nan')):8.0f} {s.get('coverage50', float('nan')):6.3f} {s['coverage80']:6.3f} "
            f"{r.get('train_seconds', float('nan')):8.0f} {beats}"
        )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
