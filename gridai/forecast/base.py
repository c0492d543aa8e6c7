"""The forecaster interface and the fit/predict/save template shared by every model.

A subclass implements four hooks on :class:`~gridai.forecast.panel.Panel` arrays:
``_fit_nodes`` (train on days, with validation days for early stopping), ``_refit_nodes``
(retrain on all days), ``_predict_nodes`` (base quantile forecasts of every hierarchy node)
and ``_get_state``/``_set_state`` (arrays saved as safetensors). The template handles the
issue-time protocol, the hierarchy, its reconciliation and the quantile calibration
(:mod:`gridai.forecast.calibration`), and the artifact format
(``forecaster.json`` + ``arrays.safetensors``; never pickle).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr

from gridai.exceptions import GridAIDataError, GridAIModelError
from gridai.forecast.calibration import QuantileCalibration, fit_cqr
from gridai.forecast.config import ForecastConfig
from gridai.forecast.metrics import mape, score
from gridai.forecast.panel import (
    DayInputs,
    Hierarchy,
    Panel,
    align_stations,
    build_panel,
    day_targets,
    make_day_inputs,
)
from gridai.forecast.reconcile import RECONCILERS, floor_lower_quantiles, reconcile
from gridai.outputs import atomic_dir

logger = logging.getLogger(__name__)

ARTIFACT_JSON = "forecaster.json"
ARTIFACT_ARRAYS = "arrays.safetensors"
FORMAT_VERSION = 1
#: Safetensors key prefix of a reconciliation's calibration factors ``(hour, node, quantile)``;
#: artifacts without such keys (saved before calibration existed) predict as trained.
CALIBRATION_PREFIX = "calibration."


@dataclass
class DayForecasts:
    """Reconciled forecasts of several target days.

    ``quantiles`` is ``(day, step, node, quantile)`` and ``mean`` ``(day, step, node)`` in the
    units of the load; ``times`` ``(day, step)`` naive-UTC interval starts; ``issue_times`` per day.
    """

    days: list[dt.date]
    times: np.ndarray
    issue_times: list[pd.Timestamp]
    nodes: list[str]
    quantile_levels: list[float]
    quantiles: np.ndarray
    mean: np.ndarray
    weather: str


def as_date(day: dt.date | str | pd.Timestamp) -> dt.date:
    """Parse a target day (``"2008-06-30"``, a date or a timestamp) into a date."""
    try:
        return pd.Timestamp(day).date()
    except (ValueError, TypeError):
        raise GridAIDataError(f"cannot read target day {day!r}; expected a date like 2008-06-30") from None


class Forecaster(ABC):
    """A day-ahead forecaster of every node of a load hierarchy.

    Attributes
    ----------
    name:
        Registry name of the model.
    series:
        Every node forecast (aggregates first, then leaves); empty before ``fit``.
    history:
        Per-epoch training records (``{"epoch", "train_loss", "val_loss"}``) for trackers.
    info:
        What fit chose and measured (reconciliation method, validation scores, timings).
    """

    name: ClassVar[str]

    def __init__(self, cfg: ForecastConfig) -> None:
        self.cfg = cfg
        self.series: list[str] = []
        self.hierarchy: Hierarchy | None = None
        self.tz: str = "UTC"
        self.units: str = "kW"
        self.resolution: str = "1h"
        self.stations: list[str] = []
        self.projection: np.ndarray | None = None
        self.projections: dict[str, np.ndarray] = {}
        #: Quantile calibration per reconciliation method; empty = quantiles served as trained.
        self.calibrations: dict[str, QuantileCalibration] = {}
        self.history: list[dict[str, float]] = []
        self.info: dict[str, Any] = {}

    # ---- hooks -------------------------------------------------------------------------------
    @abstractmethod
    def _fit_nodes(self, panel: Panel, train: DayInputs, val: DayInputs) -> None:
        """Fit on ``train`` days (``val`` days may be used for early stopping)."""

    def _refit_nodes(self, panel: Panel, days: DayInputs) -> None:
        """Retrain on all ``days`` after validation (default: fit again without validation)."""
        self._fit_nodes(panel, days, days.subset(np.zeros(len(days.days), dtype=bool)))

    @abstractmethod
    def _predict_nodes(self, panel: Panel, inputs: DayInputs) -> np.ndarray:
        """Base forecasts ``(day, step, node, quantile)``, non-crossing along the last axis."""

    @abstractmethod
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able settings and named arrays of the fitted model."""

    @abstractmethod
    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restore what ``_get_state`` returned."""

    # ---- template ----------------------------------------------------------------------------
    @property
    def median_index(self) -> int:
        return [round(q, 6) for q in self.cfg.quantiles].index(0.5)

    def _tz(self, load: xr.Dataset) -> str:
        return self.cfg.timezone or str(load.attrs.get("source_tz", "UTC"))

    def fit(self, load: xr.Dataset, weather: xr.Dataset, *, end: pd.Timestamp | None = None) -> Self:
        """Train on load and observed weather strictly before ``end`` (default: all data).

        The last ``validation_days`` usable days are held out for early stopping and for
        fitting/choosing the reconciliation; with ``refit_full`` the model is then retrained on
        all days. The quantile calibration (``cfg.calibration``) is fitted on out-of-sample
        forecasts of the last ``calibration_days`` usable days (see :meth:`_calibration_forecasts`).

        Raises
        ------
        GridAIDataError
            Fewer than ``min_train_days`` usable days (complete load and weather).
        """
        self.hierarchy = Hierarchy.from_dataset(load)
        self.tz = self._tz(load)
        panel = build_panel(load, weather, self.hierarchy, tz=self.tz, end=end)
        self.units, self.resolution = panel.units, str(load.attrs.get("resolution", "1h"))
        self.stations = panel.stations
        spd = panel.steps_per_day
        first = (panel.times[0] + pd.Timedelta(days=2)).date()
        last = (panel.times[-1] + panel.step - pd.Timedelta(days=1)).date()
        days = [d.date() for d in pd.date_range(first, last, freq="D")]
        inputs, ok = make_day_inputs(panel, days, self.cfg.issue_lead_hours, strict=False)
        targets = day_targets(panel, inputs)
        ok &= np.isfinite(targets).all(axis=(1, 2))
        n_ok = int(ok.sum())
        # short histories: shrink the validation period to a fifth of the data (at least a week)
        n_val = min(self.cfg.validation_days, max(7, n_ok // 5))
        if n_ok < self.cfg.min_train_days + n_val:
            raise GridAIDataError(
                f"only {n_ok} complete days (load of every series and weather) before "
                f"{end or 'the end of the data'}; need at least {self.cfg.min_train_days + n_val} "
                f"(min_train_days {self.cfg.min_train_days} + {n_val} validation days)"
            )
        usable = inputs.subset(ok)
        is_val = np.arange(len(usable.days)) >= len(usable.days) - n_val
        train, val = usable.subset(~is_val), usable.subset(is_val)
        self.series = list(self.hierarchy.nodes)
        logger.info(
            "fitting %s on %d nodes: %d training days (%s .. %s), %d validation days, %d steps/day",
            self.name,
            len(self.series),
            len(train.days),
            train.days[0],
            train.days[-1],
            len(val.days),
            spd,
        )
        self._fit_nodes(panel, train, val)
        base = self._predict_nodes(panel, val)  # (d, s, n, q)
        actual = day_targets(panel, val)  # (d, s, n)
        self._fit_reconciliation(panel, train, base, actual)
        self.calibrations = {}
        self.info["calibration"] = {"method": self.cfg.calibration}
        if self.cfg.calibration != "none":
            self._fit_calibration(*self._calibration_forecasts(panel, usable, base, actual))
        if self.cfg.refit_full:
            self._refit_nodes(panel, usable)
        return self

    def _fit_reconciliation(
        self, panel: Panel, train: DayInputs, base: np.ndarray, actual: np.ndarray
    ) -> None:
        """Fit every reconciliation on the validation days' ``base`` forecasts and ``actual`` load."""
        assert self.hierarchy is not None
        h = self.hierarchy
        residuals = (actual - base[..., self.median_index]).reshape(-1, len(h.nodes))
        hist_idx = np.concatenate([train.start_index[-365:, None] + np.arange(panel.steps_per_day)]).ravel()
        history = panel.load[hist_idx]
        scores: dict[str, dict[str, float]] = {}
        projections: dict[str, np.ndarray] = {}
        for method, fn in RECONCILERS.items():
            p = fn(h, residuals, history)
            rec, _ = reconcile(h, p, base, self.median_index)
            med = rec[..., self.median_index]
            node_mape = [mape(actual[..., j], med[..., j]) for j in range(len(h.nodes))]
            scores[method] = {
                "system_mape": node_mape[h.nodes.index(h.root)],
                "mean_node_mape": float(np.mean(node_mape)),
            }
            projections[method] = p
        chosen: str = self.cfg.reconciliation
        if chosen == "auto":
            chosen = min(scores, key=lambda m: scores[m]["mean_node_mape"])
        self.projection = projections[chosen]
        self.projections = projections
        self.info["reconciliation"] = chosen
        self.info["reconciliation_validation"] = scores
        logger.info(
            "reconciliation %s chosen; validation MAPE by method: %s",
            chosen,
            ", ".join(
                f"{m} system {s['system_mape']:.2f}% nodes {s['mean_node_mape']:.2f}%"
                for m, s in scores.items()
            ),
        )

    def _calibration_forecasts(
        self, panel: Panel, usable: DayInputs, val_base: np.ndarray, val_actual: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Out-of-sample base forecasts ``(d, s, n, q)`` and actuals ``(d, s, n)`` to calibrate on.

        The window is the last ``n = min(calibration_days, usable // 2, usable - min_train_days)``
        usable days. If ``n`` is no more than the validation days, the early-stopped model's
        forecasts of the validation days (``val_base``) are used as they are. Otherwise a
        second model is trained with the refit recipe (:meth:`_refit_nodes`: the best epoch
        counts, no early stopping) on the usable days before the window and forecasts every
        window day from data known at its issue time, as the final model will forecast the
        days after the training end; the fitted model is then put back as it was. A window
        day that cannot be forecast (a series without load history before its issue time)
        makes it fall back to the validation days, with a warning and ``info["calibration"]
        ["fallback"]``.
        """
        n_days = len(usable.days)
        n = min(self.cfg.calibration_days, n_days // 2, n_days - self.cfg.min_train_days)
        info = self.info["calibration"]
        if n <= len(val_base):
            info.update(source="validation days", days=len(val_base))
            return val_base, val_actual
        in_window = np.arange(n_days) >= n_days - n
        window = usable.subset(in_window)
        logger.info(
            "calibration: refitting on %d days before %s to forecast %d days", n_days - n, window.days[0], n
        )
        state, history = self._get_state(), list(self.history)
        try:
            self._refit_nodes(panel, usable.subset(~in_window))
            base, actual = self._predict_nodes(panel, window), day_targets(panel, window)
            info.update(
                source="refit before the window", days=n, first=str(window.days[0]), last=str(window.days[-1])
            )
        except GridAIDataError as err:  # e.g. a window day without load history of one series
            logger.warning("calibration falls back to the validation days: %s", err)
            info.update(source="validation days", days=len(val_base), fallback=str(err))
            base, actual = val_base, val_actual
        finally:
            self._set_state(state[0], {k: np.array(v, copy=True) for k, v in state[1].items()})
            self.history = history
        return base, actual

    def _fit_calibration(self, base: np.ndarray, actual: np.ndarray) -> None:
        """Fit the quantile calibration of every reconciliation on out-of-sample days.

        Scores are taken against each method's reconciled median (the point forecast served)
        and the offsets of the base forecasts, which is how :meth:`predict_days_methods` applies
        it (see :mod:`gridai.forecast.calibration`).
        """
        h = self.hierarchy
        assert h is not None
        hourly = self.cfg.calibration == "cqr_hourly"
        root = h.nodes.index(h.root)
        for method, p in self.projections.items():
            rec, _ = reconcile(h, p, base, self.median_index)
            cal = fit_cqr(
                actual,
                base,
                rec[..., self.median_index],
                self.cfg.quantiles,
                self.median_index,
                hourly=hourly,
            )
            self.calibrations[method] = cal
            if method == self.info.get("reconciliation"):  # in-sample diagnostics of the served method
                after, _ = reconcile(h, p, cal.apply(base, self.median_index), self.median_index)
                before_s = score(actual[..., root], rec[:, :, root], self.cfg.quantiles)
                after_s = score(actual[..., root], after[:, :, root], self.cfg.quantiles)
                self.info["calibration"]["window_root"] = {
                    f"{k}_{when}": s[k]
                    for when, s in (("before", before_s), ("after", after_s))
                    for k in ("coverage50", "coverage80", "pinball")
                }
                logger.info(
                    "calibration %s of %s on its %d days: coverage80 of %s %.3f -> %.3f, pinball %.4g -> %.4g",
                    self.cfg.calibration,
                    method,
                    len(actual),
                    h.root,
                    before_s["coverage80"],
                    after_s["coverage80"],
                    before_s["pinball"],
                    after_s["pinball"],
                )

    def _check_fitted(self) -> tuple[Hierarchy, np.ndarray]:
        if self.hierarchy is None or self.projection is None:
            raise GridAIModelError(f"forecaster {self.name!r} is not fitted; call fit() or load() first")
        return self.hierarchy, self.projection

    def predict_days(
        self,
        load: xr.Dataset,
        weather: xr.Dataset,
        days: list[dt.date | str] | list[dt.date],
        *,
        weather_forecast: xr.Dataset | None = None,
        method: str | None = None,
    ) -> DayForecasts:
        """Reconciled forecasts of several target days, each from data known at its own issue time.

        ``method`` overrides the fitted reconciliation (``"bottom_up"``, ``"top_down"``,
        ``"mint_shrink"``) for comparisons.

        Raises
        ------
        GridAIDataError
            A day is outside the data, or its weather is missing.
        GridAIModelError
            The model is not fitted, or a model series is absent from ``load``.
        """
        h, p = self._check_fitted()
        if method is not None:
            if method not in self.projections:
                raise GridAIModelError(
                    f"unknown reconciliation {method!r}; known: {sorted(self.projections)}"
                )
            p = self.projections[method]
        name = method or str(self.info.get("reconciliation", ""))
        return self.predict_days_methods(
            load, weather, days, weather_forecast=weather_forecast, projections={name: p}
        )[name]

    def predict_days_methods(
        self,
        load: xr.Dataset,
        weather: xr.Dataset,
        days: list[dt.date | str] | list[dt.date],
        *,
        weather_forecast: xr.Dataset | None = None,
        projections: dict[str, np.ndarray] | None = None,
    ) -> dict[str, DayForecasts]:
        """As :meth:`predict_days` for several reconciliations at once (default: every fitted one).

        ``projections`` maps method names to projections; a name with a fitted calibration has
        its base quantiles calibrated before reconciliation, any other is served as trained.
        """
        h, _ = self._check_fitted()
        targets = [as_date(d) for d in days]
        last_end = pd.Timestamp(max(targets)) + pd.Timedelta(days=2)
        panel = align_stations(
            build_panel(load, weather, h, tz=self.tz, extend_to=last_end), self.stations, self.name
        )
        inputs, _ = make_day_inputs(
            panel, targets, self.cfg.issue_lead_hours, weather_forecast=weather_forecast, strict=True
        )
        base = self._predict_nodes(panel, inputs)
        spd = panel.steps_per_day
        times = panel.times.values[inputs.start_index[:, None] + np.arange(spd)]
        lead = pd.Timedelta(hours=self.cfg.issue_lead_hours)
        out = {}
        for name, p in (self.projections if projections is None else projections).items():
            cal = self.calibrations.get(name)
            calibrated = base if cal is None else cal.apply(base, self.median_index)
            q, mean = reconcile(h, p, calibrated, self.median_index)
            if self.cfg.nonnegative:
                q = floor_lower_quantiles(q, self.median_index)
            out[name] = DayForecasts(
                days=targets,
                times=times,
                issue_times=[pd.Timestamp(panel.day_start(d)) - lead for d in targets],
                nodes=list(h.nodes),
                quantile_levels=list(self.cfg.quantiles),
                quantiles=q,
                mean=mean,
                weather="observed" if weather_forecast is None else "forecast",
            )
        return out

    def predict(
        self,
        load: xr.Dataset,
        weather: xr.Dataset,
        day: dt.date | str,
        *,
        weather_forecast: xr.Dataset | None = None,
    ) -> xr.Dataset:
        """Coherent quantile forecast of every interval of local day ``day``.

        Uses only load observed before the issue time (``issue_lead_hours`` before local
        midnight of ``day``) and weather known then: the forecast issued last at or before the
        issue time if ``weather_forecast`` ``(issue_time, time, station)`` is given, otherwise
        observed weather (ex-post, flagged ``weather="observed"``).

        Returns
        -------
        xarray.Dataset
            See :func:`gridai.forecast.output.to_dataset`.
        """
        from gridai.forecast.output import to_dataset

        fc = self.predict_days(load, weather, [day], weather_forecast=weather_forecast)
        return to_dataset(
            fc,
            0,
            model=self.name,
            issue_lead_hours=self.cfg.issue_lead_hours,
            units=self.units,
            parents=self.hierarchy.parents if self.hierarchy else {},
        )

    # ---- artifact ----------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write ``forecaster.json`` and ``arrays.safetensors`` into ``directory`` (no pickle)."""
        from safetensors.numpy import save_file

        h, p = self._check_fitted()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta, arrays = self._get_state()
        arrays = {f"model.{k}": np.ascontiguousarray(v) for k, v in arrays.items()}
        arrays["projection"] = np.ascontiguousarray(p)
        for m, pm in self.projections.items():
            arrays[f"projection.{m}"] = np.ascontiguousarray(pm)
        for m, cal in self.calibrations.items():
            arrays[f"{CALIBRATION_PREFIX}{m}"] = np.ascontiguousarray(cal.factors)
        doc = {
            "format_version": FORMAT_VERSION,
            "model": self.name,
            "config": json.loads(self.cfg.model_dump_json()),
            "hierarchy": h.to_json(),
            "tz": self.tz,
            "units": self.units,
            "resolution": self.resolution,
            "stations": self.stations,
            "info": self.info,
            "history": self.history,
            "state": meta,
        }
        with atomic_dir(directory, merge=True) as tmp:  # moved in name order: arrays, then the JSON
            save_file(arrays, str(tmp / ARTIFACT_ARRAYS))
            # the weights' digest, checked on load: weights changed behind gridai's back are refused
            doc["arrays_sha256"] = hashlib.sha256((tmp / ARTIFACT_ARRAYS).read_bytes()).hexdigest()
            (tmp / ARTIFACT_JSON).write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> Forecaster:
        """Load a forecaster saved by :meth:`save` (dispatching on the model named in its JSON)."""
        from gridai.forecast.registry import load_forecaster

        return load_forecaster(directory)

    def _restore(self, doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.hierarchy = Hierarchy.from_json(doc["hierarchy"])
        self.series = list(self.hierarchy.nodes)
        self.tz, self.units, self.resolution = doc["tz"], doc["units"], doc["resolution"]
        self.stations = list(doc["stations"])
        self.info, self.history = dict(doc.get("info", {})), list(doc.get("history", []))
        self.projection = arrays["projection"]
        self.projections = {k[11:]: v for k, v in arrays.items() if k.startswith("projection.")}
        self.calibrations = {
            k[len(CALIBRATION_PREFIX) :]: QuantileCalibration(v)
            for k, v in arrays.items()
            if k.startswith(CALIBRATION_PREFIX)
        }
        self._set_state(doc["state"], {k[6:]: v for k, v in arrays.items() if k.startswith("model.")})
