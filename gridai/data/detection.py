"""Running the checks on a dataset: index structure, the regular-grid panel, and every detector.

:func:`detect` is shared by :func:`gridai.data.validation.check_load` (which keeps the findings)
and :func:`gridai.data.cleaning.clean` (which needs the points concerned). To spare ``clean`` a
second pass, ``check_*`` return a :class:`Findings` list that remembers those points compactly
(as runs) for the dataset it checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from gridai.data import checks
from gridai.data.panel import SHOW, RegularSeries, Runs, run_points
from gridai.exceptions import Finding, GridAIDataError

if TYPE_CHECKING:
    from gridai.data.validation import QualityConfig

# Findings cleaning cannot repair: clean() refuses them.
BLOCKING_KINDS = frozenset({"duplicate_timestamp", "non_monotonic", "irregular_step", "empty_series"})


def dataset_token(ds: xr.Dataset, var: str) -> tuple[int, int, tuple[int, ...]]:
    """Identity of a dataset's data buffer (same object, same memory, same shape)."""
    data = ds[var].variable.data
    arr = np.asarray(data)
    return id(data), arr.__array_interface__["data"][0], arr.shape


class Findings(list[Finding]):
    """A list of findings that also remembers which points each kind concerns.

    It behaves as a plain ``list[Finding]``. :func:`gridai.data.cleaning.clean` reuses the stored
    points when given this very object for the same (unmodified) dataset; a filtered copy is a
    plain list, and ``clean`` then re-detects.
    """

    def __init__(
        self, items: list[Finding], token: tuple[int, int, tuple[int, ...]], point_runs: dict[str, Runs]
    ):
        super().__init__(items)
        self.token = token
        self.point_runs = point_runs


@dataclass
class Detection:
    """Findings, the runs of points each maskable kind concerns, and the (invalidated) panel."""

    findings: list[Finding]
    point_runs: dict[str, Runs] = field(default_factory=dict)
    panel: RegularSeries | None = None


def _step(ds: xr.Dataset, time: pd.DatetimeIndex) -> pd.Timedelta:
    if "resolution" in ds.attrs:
        return pd.Timedelta(pd.tseries.frequencies.to_offset(str(ds.attrs["resolution"])))  # type: ignore[arg-type]
    if len(time) > 1:
        return pd.Timedelta(pd.Series(time[1:] - time[:-1]).mode().iloc[0])
    return pd.Timedelta(hours=1)


def _hold_steps(ds: xr.Dataset, step: pd.Timedelta) -> int:
    """Grid steps each value is repeated over when ``ds`` was disaggregated from a coarser step."""
    held = ds.attrs.get("disaggregated_from")
    if held is None:
        return 1
    coarse = pd.Timedelta(pd.tseries.frequencies.to_offset(str(held)))  # type: ignore[arg-type]
    return max(1, int(coarse // step))


def _examples(times: pd.DatetimeIndex) -> str:
    return ", ".join(str(t) for t in times[:SHOW]) + (
        f" (+{len(times) - SHOW} more)" if len(times) > SHOW else ""
    )


def structure(ds: xr.Dataset, var: str, dim: str) -> tuple[list[Finding], RegularSeries | None]:
    """Index checks and the regular-grid panel (``None`` when the index cannot be put on a grid)."""
    if var not in ds.data_vars or set(ds[var].dims) != {"time", dim}:
        raise GridAIDataError(f"expected a variable {var!r} with dims (time, {dim}); got {dict(ds.sizes)}")
    time = pd.DatetimeIndex(ds["time"].values)
    if len(time) == 0:
        raise GridAIDataError("the dataset has no timestamps")
    out: list[Finding] = []
    dup = np.asarray(time.duplicated())
    if dup.any():
        out.append(
            Finding(
                "duplicate_timestamp",
                "error",
                f"{int(dup.sum())} duplicated timestamps: {_examples(time[dup])}",
                start=time[dup][0].isoformat(),
                end=time[dup][-1].isoformat(),
                count=int(dup.sum()),
            )
        )
    back = np.flatnonzero(np.asarray(time[1:] < time[:-1])) + 1
    if len(back):
        out.append(
            Finding(
                "non_monotonic",
                "error",
                f"timestamps go backwards {len(back)} times, first at {time[back[0]]} after {time[back[0] - 1]}",
                start=time[back[0]].isoformat(),
                count=len(back),
            )
        )
    if out:
        return out, None
    step = _step(ds, time)
    if ds[var].dtype.kind not in "fiub":
        sample = ds[var].values.ravel()[:3].tolist()
        raise GridAIDataError(
            f"variable {var!r} holds {ds[var].dtype} values (e.g. {sample}), not numbers: "
            f"expected {var} as floats [{ds[var].attrs.get('units', 'units')}]",
            series=str(var),
        )
    x = np.ascontiguousarray(ds[var].transpose(dim, "time").values, dtype="float64")
    if np.shares_memory(x, ds[var].values):  # never write into the caller's buffer
        x = x.copy()
    off = np.asarray((time - time[0]) % step != pd.Timedelta(0))
    if off.any():
        out.append(
            Finding(
                "irregular_step",
                "error",
                f"{int(off.sum())} timestamps are off the {step} grid: {_examples(time[off])}",
                start=time[off][0].isoformat(),
                end=time[off][-1].isoformat(),
                count=int(off.sum()),
            )
        )
        time, x = time[~off], x[:, ~off]
    grid = pd.date_range(time[0], time[-1], freq=step)
    if len(grid) != len(time):
        cols = grid.get_indexer(time)
        full = np.full((x.shape[0], len(grid)), np.nan)
        full[:, cols] = x
        x = full
        present = np.zeros(len(grid), dtype=bool)
        present[cols] = True
        missing = grid[~present]
        out.append(
            Finding(
                "missing_timestamps",
                "warning",
                f"{len(missing)} timestamps absent from the {step} grid: {_examples(missing)}",
                start=missing[0].isoformat(),
                end=missing[-1].isoformat(),
                count=len(missing),
            )
        )
    return out, RegularSeries(x=x, time=grid, names=[str(n) for n in ds[dim].values], step=step)


def detect(ds: xr.Dataset, kind: str, cfg: QualityConfig, only: set[str] | None = None) -> Detection:
    """Run the enabled checks (or just those in ``only``) on a load or weather dataset."""
    var, dim = ("load", "series") if kind == "load" else ("temperature", "station")
    findings, panel = structure(ds, var, dim)
    findings += checks.find_dst_transitions(
        pd.DatetimeIndex(ds["time"].values),
        str(ds.attrs.get("source_tz", "UTC")),
        int(ds.attrs.get("dst_repeats_resolved", 0)),
    )
    if panel is None:
        return Detection(findings)
    on = (set(checks.ALL_KINDS) if only is None else set(only)) - set(cfg.disabled_checks)
    masks: dict[str, Runs] = {}
    findings += checks.find_low_completeness(panel, cfg.min_completeness)
    if "gap" in on:
        findings += checks.find_gaps(panel, cfg.gap_error_hours)
    f, masks["non_finite"] = checks.find_non_finite(panel)
    findings += f
    if kind == "load":
        if not cfg.allow_negative and "negative" in on:
            f, masks["negative"] = checks.find_negative(panel)
            findings += f
        limit = cfg.max_abs_load_kw / (1000.0 if ds.attrs.get("units") == "MW" else 1.0)
        units = str(ds.attrs.get("units", "kW"))
        f, masks["implausible_value"] = checks.find_out_of_range(
            panel, -limit, limit, "implausible_value", units
        )
    else:
        f, masks["implausible_value"] = checks.find_out_of_range(
            panel, cfg.temperature_min_c, cfg.temperature_max_c, "implausible_value", "degC"
        )
    findings += f
    for r in masks.values():  # the remaining detectors see invalid points as missing
        s, t, _ = run_points(*r)
        panel.x[s, t] = np.nan
    if "flatline" in on or "zero_flatline" in on:
        f, masks["flatline"] = checks.find_flatlines(
            panel,
            cfg.flatline_min_hours if kind == "load" else cfg.weather_flatline_min_hours,
            zero_min_hours=cfg.zero_flatline_min_hours if kind == "load" else None,
            night_max_hours=cfg.night_max_hours,
            nightly_zero_day_fraction=cfg.nightly_zero_day_fraction,
            hold_steps=_hold_steps(ds, panel.step),
        )
        findings += [x for x in f if x.kind in on]
    if "outlier" in on:
        f, masks["outlier"] = checks.find_outliers(
            panel, cfg.outlier_z, cfg.outlier_spike_ratio, cfg.outlier_half_window
        )
        findings += f
    if "identical_series" in on:
        findings += checks.find_identical(panel)
    long_enough = len(panel.time) * panel.step >= pd.Timedelta(days=2 * cfg.level_shift_window_days)
    if kind == "load" and "level_shift" in on and long_enough:
        findings += checks.find_level_shifts(
            panel, cfg.level_shift_ratio, cfg.level_shift_window_days, cfg.level_shift_common_mode
        )
    findings = [x for x in findings if x.kind in on or x.kind in BLOCKING_KINDS]
    return Detection(findings, masks, panel)


def remember(ds: xr.Dataset, kind: str, det: Detection) -> Findings:
    """Wrap the findings with the runs of points they concern, for :func:`gridai.data.cleaning.clean`."""
    var = "load" if kind == "load" else "temperature"
    return Findings(det.findings, dataset_token(ds, var), det.point_runs)


def recall(findings: list[Finding], ds: xr.Dataset, var: str) -> dict[str, Runs] | None:
    """The runs stored by :func:`remember`, if ``findings`` came from checking this very dataset."""
    if not isinstance(findings, Findings) or findings.token != dataset_token(ds, var):
        return None
    return findings.point_runs
