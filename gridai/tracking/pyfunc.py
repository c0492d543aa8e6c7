"""gridai's own MLflow pyfunc flavour: a Forecaster directory, loaded without pickle.

A logged model is an MLflow model directory whose ``python_function`` flavour names this
module as ``loader_module``; its data directory (``data/payload``) holds

``forecaster/``
    The Forecaster's own ``save(directory)`` output: JSON + safetensors/npz only.
``input.json``
    Attributes needed to rebuild the canonical datasets from the pyfunc's long input
    frame (series, hierarchy, units, time zone, resolution).
``checksums.json``
    SHA-256 of every file under ``forecaster/``; a truncated or altered file is reported
    as a corrupted artifact before any weights are parsed.

The pyfunc input is a long frame ``time, variable, name, value`` (``variable`` is
``"load"`` with ``name`` a series, or a weather variable such as ``"temperature"`` with
``name`` a station); the target day is the ``day`` parameter. The output is a long
frame ``time, series, quantile, load_forecast``. gridai itself never goes through the
pyfunc: :meth:`gridai.tracking.store.ModelStore.load_forecaster` returns the Forecaster.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from gridai.data.schema import make_load_dataset, make_weather_dataset
from gridai.exceptions import GridAIDataError, GridAIModelError

logger = logging.getLogger(__name__)

PAYLOAD_DIR = "payload"
FORECASTER_DIR = "forecaster"
INPUT_FILE = "input.json"
CHECKSUM_FILE = "checksums.json"
FORMAT_VERSION = 1
INPUT_COLUMNS = ("time", "variable", "name", "value")
OUTPUT_COLUMNS = ("time", "series", "quantile", "load_forecast")

Loader = Callable[[Path], Any]


def default_loader(directory: Path) -> Any:
    """Load a Forecaster with the forecast registry's ``load_forecaster``."""
    from gridai.forecast.registry import load_forecaster

    return load_forecaster(directory)


def file_digests(directory: Path) -> dict[str, str]:
    """SHA-256 of every file under ``directory``, keyed by POSIX relative path."""
    out = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        out[path.relative_to(directory).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def input_metadata(load: xr.Dataset, weather: xr.Dataset) -> dict[str, Any]:
    """What :func:`frame_to_datasets` needs to rebuild datasets like ``load`` and ``weather``."""
    series = [str(s) for s in load["series"].values]
    parents = (
        {str(s): str(p) for s, p in zip(series, load["parent"].values, strict=True)}
        if "parent" in load.coords
        else {}
    )
    return {
        "format_version": FORMAT_VERSION,
        "load": {
            "series": series,
            "parents": parents,
            "root": str(load.attrs.get("root", "system")),
            "units": str(load.attrs.get("units", "kW")),
            "source_tz": str(load.attrs.get("source_tz", "UTC")),
            "resolution": str(load.attrs.get("resolution", "1h")),
        },
        "weather": {
            "variables": [str(v) for v in weather.data_vars if "station" in weather[v].dims],
            "stations": [str(s) for s in weather["station"].values],
            "source_tz": str(weather.attrs.get("source_tz", "UTC")),
            "resolution": str(weather.attrs.get("resolution", "1h")),
        },
    }


def datasets_to_frame(load: xr.Dataset, weather: xr.Dataset) -> pd.DataFrame:
    """Long pyfunc input frame (``time, variable, name, value``) from canonical datasets."""
    frames = [_long(_frame(load["load"], "series"), "load")]
    for var in weather.data_vars:
        if set(weather[var].dims) == {"time", "station"}:
            frames.append(_long(_frame(weather[var], "station"), str(var)))
    out = pd.concat(frames, ignore_index=True)
    out["time"] = pd.to_datetime(out["time"]).astype("datetime64[ns]")
    return out.loc[:, list(INPUT_COLUMNS)]


def _frame(da: xr.DataArray, dim: str) -> pd.DataFrame:
    return pd.DataFrame(
        da.transpose("time", dim).values,
        index=pd.DatetimeIndex(da["time"].values),
        columns=[str(c) for c in da[dim].values],
    )


def _long(wide: pd.DataFrame, variable: str) -> pd.DataFrame:
    wide = wide.copy()
    wide.index.name = "time"
    wide.columns = [str(c) for c in wide.columns]
    long = wide.reset_index().melt(id_vars="time", var_name="name", value_name="value")
    long.insert(1, "variable", variable)
    long["value"] = long["value"].astype("float64")
    return long


def frame_to_datasets(frame: pd.DataFrame, meta: dict[str, Any]) -> tuple[xr.Dataset, xr.Dataset]:
    """Canonical ``(load, weather)`` datasets from a long pyfunc input frame.

    Raises
    ------
    GridAIDataError
        A column is missing, or there are no load or no weather rows.
    """
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise GridAIDataError(
            f"pyfunc input lacks columns {missing}; expected columns {list(INPUT_COLUMNS)}",
            columns=missing,
        )
    times = pd.to_datetime(frame["time"])
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    df = frame.assign(time=times)
    lm, wm = meta["load"], meta["weather"]
    load_rows = df[df["variable"] == "load"]
    weather_rows = df[df["variable"] != "load"]
    if load_rows.empty or weather_rows.empty:
        raise GridAIDataError(
            "pyfunc input needs rows with variable 'load' and weather rows (e.g. 'temperature')"
        )
    load_wide = _wide(load_rows, lm["series"], lm["resolution"])
    load = make_load_dataset(
        load_wide.to_numpy(),
        pd.DatetimeIndex(load_wide.index),
        list(load_wide.columns),
        units=lm["units"],
        source_tz=lm["source_tz"],
        resolution=lm["resolution"],
        parents=lm["parents"],
        root=lm["root"],
    )
    variables = list(dict.fromkeys(list(wm["variables"]) + sorted(set(weather_rows["variable"]))))
    if "temperature" not in variables:
        raise GridAIDataError("pyfunc input has no 'temperature' rows", variables=variables)
    temp = _wide(weather_rows[weather_rows["variable"] == "temperature"], wm["stations"], wm["resolution"])
    weather = make_weather_dataset(
        temp.to_numpy(),
        pd.DatetimeIndex(temp.index),
        list(temp.columns),
        source_tz=wm["source_tz"],
        resolution=wm["resolution"],
    )
    for var in variables:
        rows = weather_rows[weather_rows["variable"] == var]
        if var == "temperature" or rows.empty:
            continue
        wide = _wide(rows, list(temp.columns), wm["resolution"]).reindex(temp.index)
        weather[var] = (("time", "station"), wide.to_numpy())
    return load, weather


def _wide(rows: pd.DataFrame, names: list[str], resolution: str) -> pd.DataFrame:
    wide = rows.pivot_table(index="time", columns="name", values="value", aggfunc="first", dropna=False)
    columns = list(names) + sorted(set(map(str, wide.columns)) - set(names))
    full = pd.date_range(wide.index.min(), wide.index.max(), freq=resolution)
    return wide.reindex(index=full, columns=columns).astype("float64")


def forecast_to_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Long output frame (``time, series, quantile, load_forecast``) of a forecast dataset."""
    da = ds["load_forecast"].transpose("time", "series", "quantile")
    frame = da.to_dataframe(name="load_forecast").reset_index()
    frame["series"] = frame["series"].astype(str)
    return frame.loc[:, list(OUTPUT_COLUMNS)]


def verify_payload(payload: Path) -> dict[str, Any]:
    """Check a payload directory against its checksums; return its input metadata.

    Raises
    ------
    GridAIModelError
        A file is missing, altered or truncated, or a metadata file is not valid JSON.
    """
    try:
        expected = json.loads((payload / CHECKSUM_FILE).read_text(encoding="utf-8"))
        meta = json.loads((payload / INPUT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise GridAIModelError(
            f"model artifact {payload} is incomplete or corrupted: {err}", file=str(payload)
        ) from None
    actual = file_digests(payload / FORECASTER_DIR)
    bad = sorted(k for k in expected if actual.get(k) != expected[k])
    if bad:
        raise GridAIModelError(
            f"model artifact {payload} is corrupted: {', '.join(bad)} missing or altered "
            "(SHA-256 differs from the one recorded when the model was logged); re-log or re-download it",
            file=str(payload / FORECASTER_DIR / bad[0]),
            files=bad,
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise GridAIModelError(
            f"model artifact {payload} has payload format {meta.get('format_version')!r}; "
            f"this gridai reads format {FORMAT_VERSION}",
            file=str(payload / INPUT_FILE),
        )
    return dict(meta)


def load_payload(payload: Path, loader: Loader | None = None) -> tuple[Any, dict[str, Any]]:
    """Verify a payload and load its Forecaster; return ``(forecaster, input metadata)``.

    Raises
    ------
    GridAIModelError
        Corrupted artifact, or the Forecaster's own loader fails.
    """
    meta = verify_payload(payload)
    try:
        forecaster = (loader or default_loader)(payload / FORECASTER_DIR)
    except GridAIModelError:
        raise
    except Exception as err:  # noqa: BLE001 - any loader failure means an unusable artifact
        raise GridAIModelError(
            f"model artifact {payload} cannot be loaded: {type(err).__name__}: {err}", file=str(payload)
        ) from err
    return forecaster, meta


class GridAIPyfuncModel:
    """What ``mlflow.pyfunc.load_model`` wraps: a Forecaster behind the long-frame interface."""

    def __init__(self, forecaster: Any, meta: dict[str, Any]) -> None:
        self.forecaster = forecaster
        self.meta = meta

    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Forecast the day ``params["day"]`` from the long input frame."""
        day = (params or {}).get("day")
        if not day:
            raise GridAIDataError("pyfunc predict needs the target day as params={'day': 'YYYY-MM-DD'}")
        load, weather = frame_to_datasets(pd.DataFrame(model_input), self.meta)
        ds = self.forecaster.predict(load, weather, pd.Timestamp(str(day)))
        return forecast_to_frame(ds)


def _load_pyfunc(data_path: str) -> GridAIPyfuncModel:
    """MLflow's entry point (``loader_module``): ``data_path`` is the model's ``data/payload``."""
    forecaster, meta = load_payload(Path(data_path))
    return GridAIPyfuncModel(forecaster, meta)


def signature_and_example(
    load: xr.Dataset, weather: xr.Dataset, day: pd.Timestamp, history_days: int
) -> tuple[Any, tuple[pd.DataFrame, dict[str, str]]]:
    """Pyfunc signature and an input example forecasting ``day`` from ``history_days`` of data.

    The example covers ``[day - history_days, day + 1)`` (weather of the day itself included).
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    start = np.datetime64(day - pd.Timedelta(days=history_days))
    end = np.datetime64(day + pd.Timedelta(days=1) - pd.Timedelta(1, "ns"))
    frame = datasets_to_frame(load.sel(time=slice(start, end)), weather.sel(time=slice(start, end)))
    day_str = day.strftime("%Y-%m-%d")
    signature = ModelSignature(
        inputs=Schema(
            [
                ColSpec("datetime", "time"),
                ColSpec("string", "variable"),
                ColSpec("string", "name"),
                ColSpec("double", "value"),
            ]
        ),
        outputs=Schema(
            [
                ColSpec("datetime", "time"),
                ColSpec("string", "series"),
                ColSpec("double", "quantile"),
                ColSpec("double", "load_forecast"),
            ]
        ),
        params=ParamSchema([ParamSpec("day", "string", day_str)]),
    )
    return signature, (frame, {"day": day_str})


def check_no_pickle(directory: Path) -> None:
    """Refuse to log a Forecaster whose saved files include pickles."""
    bad = [
        p.name
        for p in directory.rglob("*")
        if p.suffix in (".pkl", ".pickle", ".pt", ".pth", ".joblib", ".cloudpickle")
    ]
    if bad:
        raise GridAIModelError(
            f"Forecaster.save wrote pickle-based files {bad}; gridai models must be JSON + safetensors/npz only",
            files=bad,
        )


def pip_requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    from gridai import __version__

    reqs = [f"gridai=={__version__}"]
    for pkg in ("mlflow", "torch", "safetensors", "numpy", "pandas", "xarray"):
        try:
            reqs.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            continue
    return reqs
