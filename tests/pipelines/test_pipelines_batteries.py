"""The one battery type (gridai.dispatch.config.BatteryConfig) from the day-ahead job config to the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridai.dispatch.config import BatteryConfig
from gridai.dispatch.inputs import prepare_inputs
from gridai.dispatch.testing import config, daily_profile_kw, make_forecast
from gridai.exceptions import GridAIConfigError
from gridai.grid.topology import farthest_bus, feeder_arrays
from gridai.pipelines.dayahead.dispatch_adapter import build_config, forecast_dataset
from gridai.pipelines.dayahead.feeder_task import FeederWork, resolve_batteries
from gridai.pipelines.dayahead.feeders import FeederSpec, default_battery

from support import NetFactory


def _demand(peak_kw: float = 2000.0) -> pd.DataFrame:
    times = pd.date_range("2008-06-30", periods=24, freq="h")
    med = peak_kw * (0.6 + 0.4 * np.sin(np.linspace(0, np.pi, 24)))
    return pd.DataFrame({0.1: 0.9 * med, 0.5: med, 0.9: 1.1 * med}, index=times)


@pytest.mark.parametrize(
    "sizes",
    [
        pytest.param({}, id="no-power"),
        pytest.param({"power_kw": 1.0, "power_frac_of_peak_load": 0.2}, id="kw-and-peak-fraction"),
        pytest.param({"power_frac_of_mean_load": 0.2, "power_frac_of_peak_load": 0.2}, id="two-fractions"),
    ],
)
def test_battery_takes_exactly_one_power_rating(sizes: dict[str, float]) -> None:
    with pytest.raises(GridAIConfigError, match="exactly one of power_kw"):
        config([dict(name="f1", batteries=[{"name": "b", "duration_h": 4.0, **sizes}])])


def test_default_battery_resolves_against_the_feeder(case33bw: NetFactory) -> None:
    """20 % of the peak median demand (rounded to 0.1 kW) for 4 h at the farthest bus, SoC in kWh."""
    net = case33bw()
    demand = _demand(2003.3)
    peak = float(demand[0.5].max())
    (b,) = resolve_batteries(FeederSpec(name="f", series="zone_1"), net, demand)
    assert b.power_kw == round(0.2 * peak, 1) and b.power_kw * 10 == int(b.power_kw * 10)
    assert b.energy_kwh == 4 * b.power_kw
    assert b.bus == farthest_bus(feeder_arrays(net)) == 17
    assert b.soc_initial_kwh == 0.5 * b.energy_kwh and b.soc_min_kwh == 0.1 * b.energy_kwh
    assert b.soc_terminal_frac == 0.5 and b.eta_charge == b.eta_discharge == 0.92
    # no bus: the feeder head (the ext_grid bus), as the dispatch engine places it
    (head,) = resolve_batteries(
        FeederSpec(
            name="f", series="zone_1", batteries=[BatteryConfig(name="h", power_kw=10, energy_kwh=20)]
        ),
        net,
        demand,
    )
    assert head.bus == int(net.ext_grid["bus"].iloc[0])


def test_job_and_dispatch_resolve_a_battery_alike(case33bw: NetFactory) -> None:
    """The job resolves its batteries once and hands them to the dispatch unchanged; the dispatch
    engine, given the relative battery itself, lands on the same kW, kWh and bus."""
    from gridai.pipelines.dayahead.config import JobDispatchConfig

    net = case33bw()
    demand = _demand()
    spec = FeederSpec(name="f", series="f", batteries=[default_battery("b")])
    work = FeederWork(spec=spec, demand_kw=demand, price_per_kwh=pd.Series(0.1, index=demand.index))
    resolved = resolve_batteries(spec, net, demand)
    dcfg = build_config(work, resolved, net, JobDispatchConfig())
    assert dcfg.feeders[0].batteries == resolved
    fc = forecast_dataset("f", demand)
    direct = dcfg.model_copy(
        update={"feeders": [dcfg.feeders[0].model_copy(update={"batteries": [default_battery("b")]})]}
    )
    a = prepare_inputs(dcfg, fc, nets={"f": net}).batteries
    b = prepare_inputs(direct, fc, nets={"f": net}).batteries
    assert a.bus == b.bus == [17]
    np.testing.assert_allclose(a.charge_kw, b.charge_kw)
    np.testing.assert_allclose(a.energy_kwh, b.energy_kwh)
    np.testing.assert_allclose(a.soc_terminal_kwh, 0.5 * a.energy_kwh)


def test_mean_load_fraction_without_network() -> None:
    fc = make_forecast(daily_profile_kw(24, 500.0), freq="1h")
    cfg = config([dict(name="f1", batteries=[{"name": "b", "bus": "farthest", "power_frac_of_mean_load": 0.2,
                                                   "duration_h": 2.0}])])  # fmt: skip
    bat = prepare_inputs(cfg, fc).batteries
    assert bat.bus == [None]  # a feeder without a network has one bus
    mean = float(fc["load_forecast"].sel(series="f1", quantile=0.5).mean())
    assert bat.charge_kw[0] == pytest.approx(0.2 * mean) and bat.energy_kwh[0] == pytest.approx(0.4 * mean)
