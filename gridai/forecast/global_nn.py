"""gridai's main model: one global PyTorch quantile network for every series of the hierarchy.

Each sample is one (series, target day) pair. Inputs, all known at the issue time:

* the last ``history_days`` of the series' load observed before the issue time, divided by
  its mean (per-sample scaling; the log of that mean relative to the series' training mean
  is a separate input, so level shifts are visible);
* temperature of every station for every interval of the target day and station-mean
  temperature of the previous day, daily statistics, degree hours
  (:func:`gridai.features.weather.day_weather_features`);
* calendar of the target day, holidays and bridge days
  (:func:`gridai.features.calendar.day_calendar_features`);
* a learned embedding of the series (aggregates such as ``system`` are series too, so that
  top-down and MinT reconciliation have base forecasts of them).

Output: every interval x quantile of the day, non-crossing (:class:`gridai.forecast.nn.QuantileMLP`),
scaled back by the sample's mean. An ensemble of ``ensemble_size`` seeds is averaged.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from gridai.exceptions import GridAIDataError
from gridai.features.calendar import CALENDAR_FEATURES, day_calendar_features, holiday_dates
from gridai.features.lags import fill_window_gaps, history_windows
from gridai.features.weather import day_weather_features
from gridai.forecast.base import Forecaster
from gridai.forecast.config import ForecastConfig
from gridai.forecast.nn import QuantileMLP, TrainData, predict_network, resolve_device, train_network
from gridai.forecast.panel import DayInputs, Panel, day_targets

logger = logging.getLogger(__name__)

#: Fixed scale of weather inputs [degC]: a typical day-to-day temperature range.
WEATHER_SCALE_C = 10.0

#: Smallest per-sample scale, relative to the series' training mean (guards near-zero windows).
_MIN_RELATIVE_SCALE = 1e-3


class GlobalQuantileNN(Forecaster):
    """Global quantile MLP over all series (see the module docstring)."""

    name = "gridai_nn"

    def __init__(self, cfg: ForecastConfig) -> None:
        super().__init__(cfg)
        self.members: list[QuantileMLP] = []
        self.best_epochs: list[int] = []
        self.x_mean = np.zeros(0)
        self.x_std = np.ones(0)
        self.ref_scale = np.ones(0)
        self.n_inputs = 0

    # ---- features ----------------------------------------------------------------------------
    def _features(self, panel: Panel, inputs: DayInputs) -> tuple[np.ndarray, np.ndarray]:
        """Inputs ``(day, node, feature)`` (unstandardised) and per-sample scales ``(day, node)``."""
        spd = panel.steps_per_day
        window = history_windows(panel.load, inputs.end_index, self.cfg.history_days * spd)
        window = fill_window_gaps(window, spd)  # (d, H, n)
        finite = np.isfinite(window)
        scale = np.where(finite, np.abs(window), 0.0).sum(axis=1) / np.maximum(finite.sum(axis=1), 1)
        scale = np.where(finite.any(axis=1), np.maximum(scale, _MIN_RELATIVE_SCALE * self.ref_scale), np.nan)
        hist = np.transpose(window / scale[:, None, :] - 1.0, (0, 2, 1))  # (d, n, H)
        level = np.log(scale / self.ref_scale)[..., None]
        years = (
            {d.year for d in inputs.days}
            | {d.year + 1 for d in inputs.days}
            | {d.year - 1 for d in inputs.days}
        )
        hol = holiday_dates(
            years,
            country=self.cfg.holiday_country,
            subdivision=self.cfg.holiday_subdivision,
            extra=self.cfg.extra_holidays,
        )
        day_part = np.concatenate(
            [
                day_weather_features(inputs.temp_day_c, inputs.temp_prev_c),
                day_calendar_features(inputs.days, hol),
            ],
            axis=1,
        )
        n_nodes = panel.load.shape[1]
        x = np.concatenate([hist, level, np.repeat(day_part[:, None, :], n_nodes, axis=1)], axis=2)
        return x, scale

    def _samples(self, panel: Panel, inputs: DayInputs) -> tuple[TrainData, int]:
        x, scale = self._features(panel, inputs)
        y = np.transpose(day_targets(panel, inputs), (0, 2, 1)) / scale[..., None] - 1.0  # (d, n, s)
        node = np.broadcast_to(np.arange(x.shape[1]), x.shape[:2])
        ok = np.isfinite(x).all(axis=2) & np.isfinite(y).all(axis=2)
        xs = (x[ok] - self.x_mean) / self.x_std
        return TrainData.from_numpy(xs, node[ok], y[ok]), int(ok.sum())

    # ---- fitting -----------------------------------------------------------------------------
    def _new_member(self, n_nodes: int, spd: int, seed: int) -> QuantileMLP:
        torch.manual_seed(seed)
        return QuantileMLP(
            self.n_inputs,
            n_nodes,
            spd,
            len(self.cfg.quantiles),
            self.median_index,
            hidden_sizes=self.cfg.hidden_sizes,
            embedding_dim=self.cfg.embedding_dim,
            dropout=self.cfg.dropout,
        )

    def _train(self, panel: Panel, train: DayInputs, val: DayInputs | None, epochs: list[int] | None) -> None:
        device = resolve_device(self.cfg.device)
        tr, n_tr = self._samples(panel, train)
        va = self._samples(panel, val)[0] if val is not None and len(val.days) else None
        logger.info("training %d network(s) on %d samples (%s)", self.cfg.ensemble_size, n_tr, device)
        members, best = [], []
        for k in range(self.cfg.ensemble_size):
            model = self._new_member(panel.load.shape[1], panel.steps_per_day, self.cfg.seed + k)
            res = train_network(
                model,
                tr,
                va,
                self.cfg.quantiles,
                epochs=self.cfg.epochs if epochs is None else epochs[k],
                patience=self.cfg.patience,
                batch_size=self.cfg.batch_size,
                learning_rate=self.cfg.learning_rate,
                weight_decay=self.cfg.weight_decay,
                seed=self.cfg.seed + k,
                device=device,
                progress=self.cfg.progress_bar,
                label=f"{'refit' if epochs else 'fit'} {k + 1}/{self.cfg.ensemble_size}",
            )
            model.load_state_dict(res.state)
            members.append(model)
            best.append(res.best_epoch)
            self.history += [
                {**r, "member": float(k), "refit": float(epochs is not None)} for r in res.history
            ]
            logger.info("member %d: best epoch %d, %.1f s", k, res.best_epoch, res.seconds)
        self.members, self.best_epochs = members, best

    def _fit_nodes(self, panel: Panel, train: DayInputs, val: DayInputs) -> None:
        train_load = panel.load[
            np.concatenate([train.start_index[:, None] + np.arange(panel.steps_per_day)]).ravel()
        ]
        with np.errstate(invalid="ignore"):
            ref = np.nanmean(np.abs(train_load), axis=0)
        self.ref_scale = np.where(np.isfinite(ref) & (ref > 0), ref, 1.0)
        x, _ = self._features(panel, train)
        flat = x.reshape(-1, x.shape[2])
        flat = flat[np.isfinite(flat).all(axis=1)]
        self.n_inputs = x.shape[2]
        self.x_mean = flat.mean(axis=0)
        std = flat.std(axis=0)
        self.x_std = np.where(std > 1e-8, std, 1.0)
        # weather features [degC, K] get a fixed scale: a data std would blow up features that are
        # almost constant in training (cooling degree hours of a winter-only history) when they
        # become active later; calendar flags and cycles stay as they are (0/1, -1..1).
        n_load = self.cfg.history_days * panel.steps_per_day + 1
        n_cal = CALENDAR_FEATURES
        self.x_std[n_load : self.n_inputs - n_cal] = WEATHER_SCALE_C
        self.x_mean[self.n_inputs - n_cal :] = 0.0
        self.x_std[self.n_inputs - n_cal :] = 1.0
        self.history = []
        self._train(panel, train, val, None)

    def _refit_nodes(self, panel: Panel, days: DayInputs) -> None:
        self._train(panel, days, None, [max(e, 1) for e in self.best_epochs])

    def _predict_nodes(self, panel: Panel, inputs: DayInputs) -> np.ndarray:
        x, scale = self._features(panel, inputs)
        bad = ~np.isfinite(x).all(axis=2)
        if bad.any():
            d, n = np.argwhere(bad)[0]
            raise GridAIDataError(
                f"no load history of series {self.series[n]!r} before the issue time of {inputs.days[d]} "
                f"(needs load in the {self.cfg.history_days} days before it)",
                series=self.series[n],
                timestamps=[str(inputs.days[d])],
            )
        xs = ((x - self.x_mean) / self.x_std).reshape(-1, x.shape[2])
        node = np.tile(np.arange(x.shape[1]), x.shape[0])
        device = resolve_device(self.cfg.device)
        out = np.mean([predict_network(m, xs, node, device) for m in self.members], axis=0)
        out = out.reshape(x.shape[0], x.shape[1], panel.steps_per_day, -1)
        out = (1.0 + out) * scale[..., None, None]
        return np.transpose(out, (0, 2, 1, 3))

    # ---- state -------------------------------------------------------------------------------
    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {"x_mean": self.x_mean, "x_std": self.x_std, "ref_scale": self.ref_scale}
        for k, m in enumerate(self.members):
            for name, t in m.state_dict().items():
                arrays[f"member{k}.{name}"] = t.detach().cpu().numpy()
        meta = {"n_inputs": self.n_inputs, "n_members": len(self.members), "best_epochs": self.best_epochs}
        return meta, arrays

    def _set_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.n_inputs = int(meta["n_inputs"])
        self.best_epochs = [int(e) for e in meta["best_epochs"]]
        self.x_mean, self.x_std, self.ref_scale = arrays["x_mean"], arrays["x_std"], arrays["ref_scale"]
        spd = int(arrays["member0.skip.weight"].shape[0])
        self.members = []
        for k in range(int(meta["n_members"])):
            model = self._new_member(len(self.series), spd, self.cfg.seed + k)
            prefix = f"member{k}."
            state = {
                n[len(prefix) :]: torch.from_numpy(v.copy())
                for n, v in arrays.items()
                if n.startswith(prefix)
            }
            model.load_state_dict(state, strict=True)
            self.members.append(model)
