"""The live morning run: data truncated at the issue time plus a weather forecast file.

At 10:00 on D-1 (the job's issue time for D, 14 h before midnight) neither the load nor the
weather after 10:00 is observed. The bundled day-ahead world (3 GEFCom2012 zones, 2 stations) is
cut there, and the weather forecast file is *built from the observed temperatures plus noise*
(N(0, 1 K), seeded): the GEFCom2012 data hold no real forecasts. With the file the job exits 0
with the champion (no substituted forecast) and ``run.json`` says which hours came from it; a
weather-using model (vanilla MLR) shows that the forecast path is really used (+5 K moves its
forecast); a file that does not cover D, or issued only after the issue time, fails fast (exit 2,
naming the file and the hours) before any forecast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.exceptions import ExitCode

from support import DAYAHEAD_DAY, check_dayahead_complete, dayahead_cfg, run_dayahead

pytestmark = pytest.mark.timeout(300)

DAY = pd.Timestamp(DAYAHEAD_DAY)
ISSUE = DAY - pd.Timedelta(hours=14)  # 10:00 on D-1 (UTC data)
#: The hours the forecast must cover: from the issue time to the end of D.
FORECAST_HOURS = pd.date_range(ISSUE, DAY + pd.Timedelta(days=1), freq="1h", inclusive="left")


def _live_world(inputs: dict[str, Path], d: Path) -> dict[str, Path]:
    """``inputs`` with load and weather cut at the issue time (rows before 10:00 on D-1 kept)."""
    d.mkdir(parents=True, exist_ok=True)
    out = dict(inputs)
    for key in ("load", "weather"):
        frame = pd.read_csv(inputs[key], index_col="timestamp", parse_dates=True)
        frame[frame.index < ISSUE].to_csv(d / f"{key}.csv")
        out[key] = d / f"{key}.csv"
    return out


def _forecast_frame(inputs: dict[str, Path], shift_k: float = 0.0, seed: int = 11) -> pd.DataFrame:
    """Observed temperatures of the forecast hours plus N(0, 1 K) noise (and ``shift_k``)."""
    obs = pd.read_csv(inputs["weather"], index_col="timestamp", parse_dates=True)
    frame = obs.loc[FORECAST_HOURS].copy()
    rng = np.random.default_rng(seed)
    return frame + rng.normal(0.0, 1.0, frame.shape) + shift_k


def _cfg(world: dict[str, Path], forecast: Path | None, **over: object) -> object:
    data = {"kind": "wide_csv", "load_path": str(world["load"]), "weather_path": str(world["weather"]),
            "history_days": 30, "weather_forecast_path": None if forecast is None else str(forecast)}  # fmt: skip
    return dayahead_cfg(world, data=data, **over)


@pytest.fixture(scope="module")
def live(dayahead_inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The truncated world, the forecast file (CSV, no issue_time column) and a saved vanilla MLR."""
    from gridai.data.readers import read_wide_csv
    from gridai.forecast.config import ForecastConfig
    from gridai.forecast.registry import make_forecaster

    d = tmp_path_factory.mktemp("live")
    world = _live_world(dayahead_inputs, d)
    _forecast_frame(dayahead_inputs).rename_axis("timestamp").to_csv(d / "wf.csv")
    world["wf"] = d / "wf.csv"
    cfg = ForecastConfig(
        model="vanilla", validation_days=7, min_train_days=14, holiday_country=None,
        baseline_residual_days=14, reconciliation="bottom_up",
    )  # fmt: skip
    model = make_forecaster(cfg).fit(
        read_wide_csv(dayahead_inputs["load"], kind="load"),
        read_wide_csv(dayahead_inputs["weather"], kind="weather"),
        end=ISSUE,
    )
    model.save(d / "vanilla")
    world["vanilla"] = d / "vanilla"
    return world


def test_live_run_uses_the_weather_forecast(live: dict[str, Path], tmp_path: Path) -> None:
    res = run_dayahead(_cfg(live, live["wf"]), tmp_path / "out")  # type: ignore[arg-type]
    assert res.exit_code == ExitCode.OK, res.manifest.to_json()
    doc = check_dayahead_complete(tmp_path / "out", {"f1", "f2"})
    assert doc["model"]["substituted"] is False and doc["fallbacks"] == []
    w = doc["weather"]
    assert w["source"] == "observed+forecast"
    assert w["issue_time"] == str(ISSUE) and w["observed_until"] == str(ISSUE)
    assert w["observed_last"] == str(ISSUE - pd.Timedelta(hours=1))
    assert w["forecast_hours"] == [str(t) for t in FORECAST_HOURS]
    # the documented rule: local day d's rows count as issued 14 h before d's midnight
    assert w["forecast_hours_by_issue"] == {str(ISSUE - pd.Timedelta(days=1)): 14, str(ISSUE): 24}
    assert w["files"][str(live["wf"])] == doc["inputs"]["files"][str(live["wf"])]["sha256"]


def test_live_run_without_forecast_substitutes_the_baseline(live: dict[str, Path], tmp_path: Path) -> None:
    """The documented fallback: no forecast file and no observed weather for D -> baseline, exit 1."""
    res = run_dayahead(_cfg(live, None), tmp_path / "out")  # type: ignore[arg-type]
    assert res.exit_code == ExitCode.FALLBACK
    doc = res.manifest.to_dict()
    assert doc["model"]["substituted"] is True and "weather" in doc["model"]["reason"]
    assert doc["weather"]["source"] == "observed"


def _median(out: Path) -> np.ndarray:
    with xr.open_dataset(out / DAYAHEAD_DAY / "forecast.nc", engine="h5netcdf") as ds:
        return np.asarray(ds["load_forecast"].sel(quantile=0.5).values, dtype=float)


def test_weather_using_model_follows_the_forecast(live: dict[str, Path], tmp_path: Path) -> None:
    """Vanilla MLR uses temperature: a forecast 5 K warmer changes its forecast (June: more load).

    The +5 K forecast is given as NetCDF (issue_time, time, station), one issue at the issue time.
    """
    over = {"model": {"uri": str(live["vanilla"]), "fallback": "seasonal_naive"}}
    base = run_dayahead(_cfg(live, live["wf"], **over), tmp_path / "a")  # type: ignore[arg-type]
    assert base.exit_code == ExitCode.OK, base.manifest.to_json()
    assert base.manifest.model["substituted"] is False
    warm = pd.read_csv(live["wf"], index_col="timestamp", parse_dates=True) + 5.0
    cube = xr.Dataset(
        {"temperature": (("issue_time", "time", "station"), warm.to_numpy()[None])},
        coords={"issue_time": [ISSUE.to_datetime64()], "time": warm.index.values,
                "station": np.array(list(warm.columns), dtype=object)},
    )  # fmt: skip
    cube.to_netcdf(tmp_path / "warm.nc", engine="h5netcdf")
    hot = run_dayahead(_cfg(live, tmp_path / "warm.nc", **over), tmp_path / "b")  # type: ignore[arg-type]
    assert hot.exit_code == ExitCode.OK, hot.manifest.to_json()
    assert hot.manifest.weather["forecast_hours_by_issue"] == {str(ISSUE): len(FORECAST_HOURS)}
    a, b = _median(tmp_path / "a"), _median(tmp_path / "b")
    assert np.nanmean(b) > np.nanmean(a) * 1.01, (np.nanmean(a), np.nanmean(b))


@pytest.mark.parametrize(
    ("rows", "issue_col", "names"),
    [
        pytest.param(FORECAST_HOURS[:14], None, ("does not cover 24 hour(s)", "2008-06-30 00:00"), id="no-rows-for-d"),
        pytest.param(FORECAST_HOURS[14:], str(ISSUE + pd.Timedelta(hours=2)), ("no forecast issued at or before", "2008-06-29 10:00"), id="issued-after-issue-time"),
    ],
)  # fmt: skip
def test_forecast_not_covering_d_fails_fast(
    live: dict[str, Path],
    tmp_path: Path,
    rows: pd.DatetimeIndex,
    issue_col: str | None,
    names: tuple[str, ...],
) -> None:
    frame = pd.read_csv(live["wf"], index_col="timestamp", parse_dates=True).loc[rows]
    if issue_col is not None:
        frame.insert(0, "issue_time", issue_col)
    frame.rename_axis("timestamp").to_csv(tmp_path / "bad_wf.csv")
    res = run_dayahead(_cfg(live, tmp_path / "bad_wf.csv"), tmp_path / "out")  # type: ignore[arg-type]
    assert res.exit_code == ExitCode.BAD_INPUT
    msg = res.manifest.error["message"] if res.manifest.error else ""
    assert "bad_wf.csv" in msg and all(n in msg for n in names), msg
    assert "forecast" not in res.manifest.steps  # failed in the data step, before any forecast
