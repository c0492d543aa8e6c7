"""Settlement and value-captured arithmetic of ``experiments/benchmarks/decision_value.py``.

Hand case: one battery (5 kW, 20 kWh, charge = discharge efficiency sqrt(0.85), start and end
at 10 kWh), four hourly intervals 11:00..14:00 with prices 0.08, 0.08, 0.20, 0.20 $/kWh and a
demand charge of 0.5 $/kW, actual load 10, 10, 20, 20 kW.

* No battery: energy 0.08 x 20 + 0.20 x 40 = 9.6 $, peak 0.5 x 20 = 10 $ -> 19.6 $.
* Perfect foresight: charging earns 0.85 x 0.20 - 0.08 > 0 per kWh drawn and lowers the peak, so
  the battery charges flat out (5 kW, 2 h: 10 kWh drawn, 8.5 kWh delivered) and splits the
  discharge evenly to shave the peak: import 15, 15, 15.75, 15.75 kW -> energy 0.08 x 30 +
  0.20 x 31.5 = 8.7 $, peak 0.5 x 15.75 = 7.875 $ -> 16.575 $.
* Planned on the forecast 10, 10, 20, 10 kW: all discharge it can at 13:00 (5 kW), the rest
  (3.5 kW) at 14:00; settled on the actual load the import is 15, 15, 15, 16.5 kW -> 8.7 $ +
  8.25 $ = 16.95 $: value captured (19.6 - 16.95) / (19.6 - 16.575) = 87.603 %.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).resolve().parents[2] / "experiments" / "benchmarks" / "decision_value.py"

LOAD = np.array([[10.0, 10.0, 20.0, 20.0]])
PRICE = np.array([0.08, 0.08, 0.20, 0.20])
TIMES = pd.date_range("2008-01-01 11:00", periods=4, freq="h")


@pytest.fixture(scope="module")
def dv() -> ModuleType:
    spec = importlib.util.spec_from_file_location("decision_value", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["decision_value"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_tou_price(dv: ModuleType) -> None:
    np.testing.assert_allclose(dv.tou_price(np.array(TIMES.hour, dtype=float)), PRICE)
    assert dv.tou_price(np.array([12.0, 13.0, 19.0, 20.0])).tolist() == [0.08, 0.20, 0.20, 0.08]


@pytest.mark.parametrize(
    ("battery", "energy", "peak", "spilled"),
    [
        pytest.param([0, 0, 0, 0], 9.6, 10.0, 0.0, id="no-battery"),
        pytest.param([-5, -5, 4.25, 4.25], 8.7, 7.875, 0.0, id="perfect-plan"),
        pytest.param([-5, -5, 5, 3.5], 8.7, 8.25, 0.0, id="forecast-plan"),
        pytest.param([12, 0, 0, 0], 0.08 * 10 + 0.20 * 40, 10.0, 2.0, id="surplus-spilled"),
    ],
)
def test_settle_by_hand(
    dv: ModuleType, battery: list[float], energy: float, peak: float, spilled: float
) -> None:
    s = dv.settle(LOAD, np.array([battery], dtype=float), PRICE)
    assert s.energy[0] == pytest.approx(energy)
    assert s.peak[0] == pytest.approx(peak)
    assert s.spilled_kwh[0] == pytest.approx(spilled)


def test_settle_bills_each_day_peak(dv: ModuleType) -> None:
    load = np.array([[1.0, 3.0, 2.0, 5.0]])
    s = dv.settle(
        load, np.zeros_like(load), np.ones(4), demand_charge_per_kw=2.0, day_of_t=np.array([0, 0, 1, 1])
    )
    assert s.peak[0] == pytest.approx(2.0 * (3.0 + 5.0))
    assert s.energy[0] == pytest.approx(11.0)


def test_value_captured(dv: ModuleType) -> None:
    assert dv.value_captured(np.array([19.6]), np.array([16.95]), np.array([16.575])) == pytest.approx(
        100 * 2.65 / 3.025
    )
    with pytest.raises(ValueError, match="saves nothing"):
        dv.value_captured(np.array([1.0]), np.array([1.0]), np.array([1.0]))


def test_gridai_dispatch_plans_by_hand(dv: ModuleType) -> None:
    """Planned through gridai's dispatch: perfect foresight gives 100 %, the forecast 87.6 %."""
    cfg = dv.dispatch_config(["z"], np.array([5.0]))
    assert cfg.feeders[0].batteries[0].energy_kwh == pytest.approx(20.0)
    perfect, planned = dv.plan_day(cfg, dv.as_forecast(LOAD.T, TIMES, ["z"]), "deterministic")
    np.testing.assert_allclose(perfect, [[-5, -5, 4.25, 4.25]], atol=1e-6)
    assert planned == pytest.approx(16.575, rel=1e-6)
    wrong, _ = dv.plan_day(
        cfg, dv.as_forecast(np.array([[10.0], [10.0], [20.0], [10.0]]), TIMES, ["z"]), "deterministic"
    )
    np.testing.assert_allclose(wrong, [[-5, -5, 5, 3.5]], atol=1e-6)

    base = dv.settle(LOAD, np.zeros_like(LOAD), PRICE).total
    pf = dv.settle(LOAD, perfect, PRICE).total
    fc = dv.settle(LOAD, wrong, PRICE).total
    assert pf[0] == pytest.approx(16.575, rel=1e-6)
    assert dv.value_captured(base, pf, pf) == pytest.approx(100.0)
    assert dv.value_captured(base, fc, pf) == pytest.approx(87.603305785, rel=1e-6)


def test_copula_paths_follow_the_quantiles() -> None:
    """Sampled paths (now gridai's): exact at the forecast levels, linear in the normal score, AR(1) scores."""
    from scipy.special import ndtri

    from gridai.dispatch.scenarios import ar1_normal_scores as ar1_scores
    from gridai.dispatch.scenarios import quantile_at_scores as normal_score_quantile

    levels = np.array([0.1, 0.5, 0.9])
    values = np.array([[8.0, 10.0, 13.0], [18.0, 20.0, 22.0]])  # (T=2, K=3)
    z = np.stack([ndtri(levels)[[0, 2]], ndtri(levels)[[1, 1]], [0.0, 2 * ndtri(0.9)]])  # (S=3, T=2)
    out = normal_score_quantile(values, levels, z)
    np.testing.assert_allclose(out[0], [8.0, 22.0])
    np.testing.assert_allclose(out[1], [10.0, 20.0])
    np.testing.assert_allclose(out[2], [10.0, 24.0])  # extrapolated: slope 2 per z90 above 0.9
    s = ar1_scores(np.random.default_rng(0), (20000, 3), rho=0.9)
    assert abs(s.std() - 1) < 0.02
    assert abs(np.corrcoef(s[:, 0], s[:, 1])[0, 1] - 0.9) < 0.01
    assert abs(np.corrcoef(s[:, 0], s[:, 2])[0, 1] - 0.81) < 0.02
