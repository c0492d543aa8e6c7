"""Builders, paths and helpers shared by test modules (the shared *fixtures* are in ``conftest.py``).

Import it as ``support``: pytest's default ``prepend`` import mode puts ``tests/`` (the folder of
the rootdir ``conftest.py``) on ``sys.path`` before any test module is imported. Each helper here
is defined once; a test module that needs one imports it instead of copying it.
"""

from __future__ import annotations

import io
import json
import math
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

if TYPE_CHECKING:
    import pandapower as pp

    from gridai.forecast.config import ForecastConfig
    from gridai.pipelines.dayahead.config import DayAheadConfig
    from gridai.pipelines.dayahead.job import DayAheadResult
    from gridai.restoration.network import RestorationNetwork

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Input files for tests (bad-input catalogue, tiny configs) and stored regression results.
FIXTURES = REPO_ROOT / "tests" / "fixtures"
TINY_FORECAST_YAML = REPO_ROOT / "configs" / "forecast" / "tiny.yaml"
GEFCOM_DIR = REPO_ROOT / "data" / "gefcom2012"

#: Stored regression results (see ``tests/fixtures/regression/README.md``).
REGRESSION_DIR = FIXTURES / "regression"
#: ``GRIDAI_REGEN=1`` rewrites the stored regression results instead of comparing with them.
REGEN_ENV = "GRIDAI_REGEN"
#: Regression tolerance: relative, with an absolute floor for values that are zero [kW, kWh, pu, currency].
REGRESSION_RTOL = 1e-6
REGRESSION_ATOL = 1e-6

#: Type of the ``case33bw`` fixture: each call returns a fresh network.
NetFactory = Callable[[], "pp.pandapowerNet"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (the OS picks it; closed before returning)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------- forecast
def tiny_forecast_config(**update: Any) -> ForecastConfig:
    """``configs/forecast/tiny.yaml`` (a network small enough for a CPU test), fields replaced by ``update``."""
    from gridai.config import load_config
    from gridai.forecast.config import ForecastConfig

    return load_config(ForecastConfig, TINY_FORECAST_YAML).model_copy(update=update)


def load_and_weather(days: int, *, start: str = "2023-01-01") -> tuple[xr.Dataset, xr.Dataset]:
    """Three synthetic series (seed 2) driven by two synthetic stations (seed 1), hourly, from ``start``."""
    from gridai.testing import synthetic_load, synthetic_weather

    weather = synthetic_weather(2, start=start, days=days, seed=1)
    load = synthetic_load(3, start=start, days=days, seed=2, weather=weather)
    return load, weather


# ------------------------------------------------------------------------------------- tracking
#: Issue day of the tracking tests; the ``vanilla_forecaster`` fixture is fitted up to three days before it.
TRACKING_DAY = pd.Timestamp("2021-02-10")


def tracking_load_and_weather(
    days: int = 45, series: tuple[str, ...] = ("a", "b", "c")
) -> tuple[xr.Dataset, xr.Dataset]:
    """Hourly load from 2021-01-01 with a daily and weekly shape, and two temperature stations."""
    from gridai.data.schema import make_load_dataset, make_weather_dataset

    t = pd.date_range("2021-01-01", periods=24 * days, freq="1h")
    rng = np.random.default_rng(1)
    hour, dow = t.hour.to_numpy(), t.dayofweek.to_numpy()
    shape = (1 + 0.3 * np.sin(2 * np.pi * hour / 24)) * (1 - 0.1 * (dow >= 5))
    load = np.stack([100.0 * (i + 1) * shape + rng.normal(0, 2, len(t)) for i in range(len(series))], axis=1)
    temp = 5 + 4 * np.sin(2 * np.pi * hour / 24)[:, None] + rng.normal(0, 0.5, (len(t), 2))
    return make_load_dataset(load, t, list(series)), make_weather_dataset(temp, t, ["s1", "s2"])


# ---------------------------------------------------------------------------------- restoration
def two_feeder_net(heavy: float = 1.0) -> pp.pandapowerNet:
    """One source, two 5-bus feeders, two normally-open ties (lines 10 and 11): 12 switchable lines."""
    import pandapower as pp

    net = pp.create_empty_network(sn_mva=1.0)
    b = [pp.create_bus(net, vn_kv=10.0) for _ in range(11)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    loads_kw = [0, 300, 250, 400, 150, 350, 200, 450, 300, 250, 400]
    for i in range(1, 11):
        pp.create_load(net, b[i], p_mw=heavy * loads_kw[i] / 1e3, q_mvar=heavy * 0.4 * loads_kw[i] / 1e3)
    feeder = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 6), (6, 7), (7, 8), (8, 9), (9, 10)]
    for f, t in feeder:
        pp.create_line_from_parameters(net, b[f], b[t], 2.0, 0.4, 0.35, 10.0, 0.4)
    for f, t in [(5, 10), (3, 8)]:
        pp.create_line_from_parameters(net, b[f], b[t], 2.0, 0.4, 0.35, 10.0, 0.4, in_service=False)
    return net


def optimal_plan_value(
    rn: RestorationNetwork, line: int, strengthened: bool, freeze: bool = True
) -> float | None:
    """Optimal plan value [kW-equivalent] of a fault on ``line``; None when the MILP is infeasible.

    Asserts that the solver's objective equals the value recomputed from the plan.
    """
    from gridai.restoration.network import locate_fault
    from gridai.restoration.optimise import plan_value, solve_once

    fault = locate_fault(rn, [line])
    sol = solve_once(rn, fault, freeze_healthy=freeze, strengthened=strengthened)
    if sol.status == "infeasible":
        return None
    assert sol.status == "optimal" and sol.objective is not None
    # the value is recomputed from the plan, not read from the solver
    assert sol.objective == pytest.approx(plan_value(sol.data, sol.closed, sol.served_fraction, sol.islands))
    return sol.objective


# ------------------------------------------------------------------------------------ day-ahead
#: The tiny day-ahead world (fixture ``dayahead_inputs``): its target day and its output files.
DAYAHEAD_DAY = "2008-06-30"
DAYAHEAD_FILES = ("forecast.nc", "schedules.csv", "network_health.csv", "report.html", "run.json")


def dayahead_cfg(inputs: dict[str, Path], **over: Any) -> DayAheadConfig:
    """The day-ahead config of ``inputs`` (two case33bw feeders); ``section=...`` or ``section__field=...`` override."""
    from gridai.config import parse_config
    from gridai.pipelines.dayahead.config import DayAheadConfig

    doc: dict[str, Any] = {
        "data": {"kind": "wide_csv", "load_path": str(inputs["load"]), "weather_path": str(inputs["weather"]),
                 "history_days": 30},
        "model": {"uri": str(inputs["champion"]), "fallback": "seasonal_naive"},
        "feeders": [
            {"name": "f1", "series": "zone_1", "network": "case33bw"},
            {"name": "f2", "series": "zone_2", "network": "case33bw"},
        ],
        "dispatch": {"time_limit_s": 20, "ac_check_intervals": 1},
        "health": {"peak_intervals": 1},
        "track_runs": False,
        "report": {"max_feeder_charts": 2},
    }  # fmt: skip
    for key, value in over.items():
        section, _, field = key.partition("__")
        if field:
            doc.setdefault(section, {})[field] = value
        else:
            doc[section] = value
    return parse_config(DayAheadConfig, doc)


def run_dayahead(cfg: DayAheadConfig, out: Path, **kw: Any) -> DayAheadResult:
    """``run_day_ahead`` for :data:`DAYAHEAD_DAY`."""
    from gridai.pipelines.dayahead.job import run_day_ahead

    return run_day_ahead(cfg, DAYAHEAD_DAY, out, **kw)


def check_dayahead_complete(out: Path, feeders: set[str]) -> dict[str, Any]:
    """Every file present and readable; schedules cover each feeder x asset x hour exactly once.

    Returns the parsed ``run.json``.
    """
    d = out / DAYAHEAD_DAY
    assert sorted(p.name for p in d.iterdir()) == sorted(DAYAHEAD_FILES)
    sched = pd.read_csv(d / "schedules.csv")
    assert set(sched["feeder"]) == feeders
    assert not sched.duplicated(["feeder", "asset", "time"]).any()
    assert (sched.groupby(["feeder", "asset"]).size() == 24).all()
    assert np.isfinite(sched[["p_kw", "soc_kwh"]].to_numpy()).all()
    health = pd.read_csv(d / "network_health.csv")
    assert feeders <= set(health["feeder"])
    with xr.open_dataset(d / "forecast.nc", engine="h5netcdf") as ds:
        assert ds["load_forecast"].sizes["time"] == 24 and "system" in ds["series"].values
    assert "<html" in (d / "report.html").read_text()
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]
    assert hidden == [], f"leftover staging directories: {hidden}"
    return dict(json.loads((d / "run.json").read_text()))


# ----------------------------------------------------------------------------------- regression
def _assert_close(stored: Any, current: Any, where: str) -> None:
    """Equal structure and strings; numbers within :data:`REGRESSION_RTOL` / :data:`REGRESSION_ATOL`."""
    if isinstance(stored, dict) and isinstance(current, dict):
        assert sorted(stored) == sorted(current), f"{where}: keys {sorted(stored)} != {sorted(current)}"
        for key in stored:
            _assert_close(stored[key], current[key], f"{where}.{key}")
    elif isinstance(stored, list) and isinstance(current, list):
        assert len(stored) == len(current), f"{where}: {len(stored)} items stored, {len(current)} now"
        for i, (a, b) in enumerate(zip(stored, current, strict=True)):
            _assert_close(a, b, f"{where}[{i}]")
    elif (
        isinstance(stored, int | float) and not isinstance(stored, bool) and isinstance(current, int | float)
    ):
        assert math.isclose(stored, current, rel_tol=REGRESSION_RTOL, abs_tol=REGRESSION_ATOL), (
            f"{where}: stored {stored!r}, now {current!r}"
        )
    else:
        assert stored == current, f"{where}: stored {stored!r}, now {current!r}"


def _as_text(name: str, result: dict[str, Any] | pd.DataFrame) -> str:
    if name.endswith(".csv") and isinstance(result, pd.DataFrame):
        return str(result.to_csv(index=False, lineterminator="\n"))
    if name.endswith(".json") and isinstance(result, dict):
        return json.dumps(result, indent=2, sort_keys=True) + "\n"
    raise TypeError(f"{name}: a DataFrame goes to .csv, a dict to .json")


def check_regression(results: dict[str, dict[str, Any] | pd.DataFrame]) -> None:
    """Compare each result with ``tests/fixtures/regression/<name>`` (a dict as JSON, a DataFrame as CSV).

    Numbers agree within :data:`REGRESSION_RTOL` (absolute floor :data:`REGRESSION_ATOL`), everything
    else exactly; both sides of a CSV go through the same CSV round trip, so dtypes and time stamps
    compare as written. With ``GRIDAI_REGEN=1`` the files are rewritten and the test fails: a
    regenerated result must be reviewed and committed, never passed silently.
    """
    texts = {name: _as_text(name, result) for name, result in results.items()}
    if os.environ.get(REGEN_ENV) == "1":
        REGRESSION_DIR.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (REGRESSION_DIR / name).write_text(text)
        pytest.fail(
            f"{REGEN_ENV}=1: rewrote {', '.join(sorted(texts))} in tests/fixtures/regression/; review "
            f"`git diff` on them, commit them with the reason for the change, rerun without {REGEN_ENV}",
            pytrace=False,
        )
    for name, text in texts.items():
        path = REGRESSION_DIR / name
        if not path.exists():
            pytest.fail(
                f"{path.relative_to(REPO_ROOT)} is missing: create it with {REGEN_ENV}=1", pytrace=False
            )
        if name.endswith(".csv"):
            stored = pd.read_csv(io.StringIO(path.read_text()))
            now = pd.read_csv(io.StringIO(text))
            pd.testing.assert_frame_equal(
                now, stored, check_exact=False, rtol=REGRESSION_RTOL, atol=REGRESSION_ATOL, obj=name
            )
        else:
            _assert_close(json.loads(path.read_text()), json.loads(text), name)


def gefcom_job_yaml(feeders: str = "[{name: f1, series: zone_1, network: case33bw}]", extra: str = "") -> str:
    """A day-ahead job YAML on the bundled GEFCom2012 data whose champion does not exist (the
    baseline is substituted, exit 1): quick to run from the command line."""
    return (
        f"data: {{kind: gefcom2012, load_path: {GEFCOM_DIR}, history_days: 35}}\n"
        "model: {uri: seasonal_naive_only, fallback: seasonal_naive}\n"
        f"feeders: {feeders}\ntrack_runs: false\n" + extra
    )


def write_file(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` and return the path (for inline test files)."""
    path.write_text(text)
    return path


def stamps_csv(stamps: list[str], values: list[float] | None = None, header: str = "timestamp,a") -> str:
    """A one-series CSV text with ``stamps`` as they are written and ``values`` (default 1, 2, ...)."""
    values = values if values is not None else [float(i + 1) for i in range(len(stamps))]
    return header + "\n" + "".join(f"{t},{float(v)!r}\n" for t, v in zip(stamps, values, strict=True))
