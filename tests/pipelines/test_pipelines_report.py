"""The day-ahead report (gridai.pipelines.dayahead.report*): an honest banner, named cases and
times in the data's zone, interactive charts that draw offline, charts for the most exposed only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from gridai.exceptions import ExitCode
from gridai.grid.health import health_frame, health_summary
from gridai.pipelines.dayahead.manifest import RunManifest
from gridai.pipelines.dayahead.report import PreviousDay, ReportData, render_report
from gridai.pipelines.dayahead.report_charts import chart_keys
from gridai.pipelines.dayahead.report_clock import Clock
from gridai.pipelines.dayahead.report_inputs import previous_day
from gridai.pipelines.dayahead.report_status import lowest_voltage, run_status

from support import DAYAHEAD_DAY, REPO_ROOT

DAY = pd.date_range("2008-06-30", periods=24, freq="h")
PLOTLY_BANNER = "* plotly.js v"


def _quantile_frame(base: float = 2000.0, index: pd.DatetimeIndex = DAY) -> pd.DataFrame:
    shape = base * (0.7 + 0.3 * np.sin(np.linspace(0, np.pi, len(index))))
    return pd.DataFrame({q: shape * (0.8 + 0.4 * q) for q in (0.1, 0.5, 0.9)}, index=index)


def _health_row(
    feeder: str, case: str, v: float, loading: float = 50.0, hour: int = 15, **kw: Any
) -> dict[str, Any]:
    return {"feeder": feeder, "time": DAY[hour], "case": case, "load_kw": 1.0, "battery_kw": 0.0, "converged": True,
            "v_min_pu": v, "v_min_bus": 17, "n_low_voltage": int(v < 0.95), "loading_max_pct": loading,
            "loading_max_element": "line 3", "n_overloaded": int(loading > 100), "losses_kw": 5.0, "flag": "", **kw}  # fmt: skip


def _schedule(feeders: list[str]) -> pd.DataFrame:
    return pd.concat(
        [pd.DataFrame({"feeder": f, "asset": "bess_1", "time": DAY, "p_kw": np.sin(np.arange(24)) * 100,
                       "soc_kwh": 500.0 + np.cumsum(np.sin(np.arange(24)))}) for f in feeders],
        ignore_index=True,
    )  # fmt: skip


def _manifest(*fallbacks: tuple[str, str, str], feeders: dict[str, Any] | None = None) -> dict[str, Any]:
    m = RunManifest(job="day-ahead", date="2008-06-30")
    m.model = {"used": "models:/gridai-load@champion", "substituted": False}
    for step, kind, reason in fallbacks:
        m.add_fallback(step, kind, reason)
    m.feeders = feeders or {}
    m.finish(ExitCode.FALLBACK if fallbacks else ExitCode.OK)
    return m.to_dict()


def _report(n_feeders: int = 2, *, health: list[dict[str, Any]] | None = None, manifest: dict[str, Any] | None = None,
            tz: str = "UTC", **kw: Any) -> ReportData:  # fmt: skip
    names = [f"f{i}" for i in range(n_feeders)]
    rows = health if health is not None else [_health_row(n, "p50", 0.97) for n in names]
    h = health_frame(rows)
    actual = pd.Series(np.linspace(15000, 25000, 96), index=pd.date_range("2008-06-27", periods=96, freq="h"))
    prices = pd.Series(np.where((DAY.hour >= 13) & (DAY.hour < 20), 0.2, 0.08), index=DAY)
    return ReportData(
        date="2008-06-30", title="gridai day-ahead",
        forecasts={"system": _quantile_frame(20000.0), **{n: _quantile_frame(2000.0 + 10 * i) for i, n in enumerate(names)}},
        actuals={"system": actual}, schedules=_schedule(names), health=h, health_summary=health_summary(h),
        manifest=manifest if manifest is not None else _manifest(), prices=prices, timezone=tz, **kw,
    )  # fmt: skip


def _state(page: str) -> str:
    m = re.search(r"data-state='(\w+)'", page)
    assert m, "no banner"
    return m.group(1)


# ------------------------------------------------------------------------------------- banner
@pytest.mark.parametrize(
    ("health", "fallbacks", "state"),
    [
        pytest.param([_health_row("f0", "p50", 0.97)], (), "ok", id="all-clear"),
        pytest.param(
            [_health_row("f0", "p50", 0.97), _health_row("f0", "p90", 0.93)],
            (),
            "warnings",
            id="red-health-flag-alone",
        ),  # fmt: skip
        pytest.param([_health_row("f0", "p50", 0.97, loading=120.0)], (), "warnings", id="overload"),
        pytest.param(
            [_health_row("f0", "p50", 0.97)],
            (("dispatch", "idle_schedule", "infeasible"),),
            "fallbacks",
            id="fallback",
        ),  # fmt: skip
    ],
)
def test_banner_state_reflects_health_and_fallbacks(
    health: list[dict[str, Any]], fallbacks: Any, state: str
) -> None:
    page = render_report(_report(1, health=health, manifest=_manifest(*fallbacks)))
    assert _state(page) == state
    if state == "ok":
        assert "No fallback, no warning, no red health flag, no readiness problem" in page


def test_banner_names_case_and_time_of_every_red_flag_and_readiness_problem() -> None:
    health = [_health_row("f0", "p50", 0.949), _health_row("f0", "p90", 0.941),
              _health_row("f0", "p50_dispatched", 0.955), _health_row("f1", "p50", 0.97, loading=130.0, hour=16)]  # fmt: skip
    readiness = pd.DataFrame([{"feeder": "f0", "faults": 8, "fully_restored": 5, "worst_fault_line": 0,
                               "worst_restored_pct": 15.9, "worst_unserved_kw": 1842.6, "mean_restored_pct": 80.0,
                               "not_verified": 2, "worst_fault_explained": "the fault is in the substation section",
                               "problem": ""}])  # fmt: skip
    feeders = {"f1": {"network": {"v_min_pu": 0.93, "v_min_limit_pu": 0.92, "violations": "[]",
                                  "ac_checked_intervals": "['2008-06-30 00:00:00', '2008-06-30 23:00:00']"}}}  # fmt: skip
    m = _manifest(feeders=feeders)
    status = run_status(m, health_frame(health), readiness, Clock("Europe/Berlin"), 0.95, 100.0)
    text = "\n".join(i.text for i in status.items)
    assert status.state == "warnings"
    # UTC 15:00 is 17:00 CEST; the dispatched case clears the flag, and the banner says so
    assert "f0: voltage below 0.95 pu in p50 at 17:00 CEST" in text and "p90 at 17:00 CEST" in text
    assert "within the limit in p50_dispatched" in text
    assert "f1: loading above 100 % in p50 at 18:00 CEST (line 3 at 130 %)" in text
    assert "f1: the AC check of the schedule" in text and "0.930 pu at 02:00 CEST or 01:00 CEST" in text
    assert "2 of 8 restoration plans fail AC verification" in text
    assert "leaves 1,843 kW unserved (16 % of the interrupted load restored)" in text


def test_lowest_voltage_is_the_lowest_of_health_and_run_json() -> None:
    h = health_frame([_health_row("f0", "p90", 0.943), _health_row("f1", "p50", 0.96)])
    clock = Clock("UTC")
    assert lowest_voltage(h, _manifest(), clock) == (0.943, "f0 bus 17, p90 at 15:00 UTC")
    m = _manifest(
        feeders={"f1": {"network": {"v_min_pu": 0.929, "ac_checked_intervals": "['2008-06-30 23:00:00']"}}}
    )
    v, where = lowest_voltage(h, m, clock) or (None, "")
    assert v == 0.929 and where == "f1, dispatch AC check (p50, as dispatched) at 23:00 UTC"
    page = render_report(
        _report(2, health=[_health_row("f0", "p90", 0.943), _health_row("f1", "p50", 0.96)], manifest=m)
    )
    assert "0.929 pu (below limit)" in page


# ------------------------------------------------------------------------------------- time zone
def test_cards_name_case_and_local_time_of_the_data_zone() -> None:
    page = render_report(_report(1, tz="America/New_York"))
    assert "All times are local time of America/New_York (EDT, UTC-04:00)" in page
    assert "times in UTC" not in page
    peak = DAY[int(np.argmax(_quantile_frame(20000.0)[0.5].to_numpy()))]
    local = peak.tz_localize("UTC").tz_convert("America/New_York")
    assert "System peak, forecast p50 (before dispatch)" in page
    assert f"MW at {local:%H:%M} EDT" in page and "p90 then:" in page


def test_a_repeated_local_hour_gets_a_utc_laid_axis_with_local_labels() -> None:
    clock = Clock("Europe/Berlin")
    fall_back = pd.date_range("2016-10-29 22:00", periods=25, freq="h")  # local day 2016-10-30: 25 hours
    axis = clock.axis(fall_back)
    assert not axis.wall and len(set(axis.x(fall_back))) == 25
    assert "CEST" in " ".join(axis.layout()["ticktext"]) and "CET" in " ".join(axis.layout()["ticktext"])
    assert clock.day_hours(fall_back) == 25.0
    normal = clock.axis(DAY)
    assert normal.wall and normal.x(DAY[:1]) == ["2008-06-30T02:00"]
    assert clock.zone_note(fall_back) == "Europe/Berlin (CEST, UTC+02:00; CET, UTC+01:00)"


# ------------------------------------------------------------------------------------- charts
def test_report_is_self_contained_and_charts_only_the_most_exposed_feeders() -> None:
    health = [_health_row(f"f{i}", "p50", 0.99 - 0.005 * i) for i in range(10)]
    page = render_report(_report(10, health=health, max_feeder_charts=3))
    assert page.count(PLOTLY_BANNER) == 1, "plotly.js is inlined exactly once"
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=", page), "nothing is fetched"
    keys = list(chart_keys(page))
    assert keys == [
        "system",
        "dispatch",
        "feeder-f9",
        "assets-f9",
        "feeder-f8",
        "assets-f8",
        "feeder-f7",
        "assets-f7",
    ]
    assert page.count("<tr><td>") >= 10, "every feeder has a table row"
    assert "3 of 10 feeders charted" in page
    assert "peak p50" in page and "tariff [$\\u002fkWh]" in page  # plotly escapes "/" in its JSON


def test_report_chart_count_does_not_grow_with_feeders() -> None:
    small = chart_keys(render_report(_report(8, max_feeder_charts=6)))
    large = chart_keys(render_report(_report(40, max_feeder_charts=6)))
    assert len(small) == len(large) == 2 + 2 * 6


def test_previous_day_chart_says_which_forecast_it_shows() -> None:
    prev = pd.date_range("2008-06-29", periods=24, freq="h")
    actual = pd.Series(_quantile_frame(20000.0, prev)[0.5].to_numpy() * 1.02, index=prev)
    p = PreviousDay(
        "2008-06-29",
        _quantile_frame(20000.0, prev),
        actual,
        "the forecast published by the run of 2008-06-29",
    )
    page = render_report(_report(1, previous=p))
    assert "previous-day" in chart_keys(page)
    assert "Forecast shown: the forecast published by the run of 2008-06-29" in page
    assert "p50 MAPE 2.0 %" in page and "band held the actual 100 % of the time" in page


def test_previous_day_prefers_the_published_forecast(tmp_path: Path) -> None:
    from gridai.data.io import write_netcdf

    day = pd.Timestamp("2008-06-30")
    prev = pd.date_range("2008-06-29", periods=24, freq="h")
    q = [0.1, 0.5, 0.9]
    ds = xr.Dataset(
        {
            "load_forecast": (
                ("time", "series", "quantile"),
                _quantile_frame(1.0, prev).to_numpy()[:, None, :],
            )
        },
        coords={"time": prev.values, "series": np.array(["system"], dtype=object), "quantile": q},
        attrs={"model_used": "models:/gridai-load@champion", "substituted": False},
    )
    calls: list[pd.Timestamp] = []

    def hindcast(d: pd.Timestamp) -> xr.Dataset:
        calls.append(d)
        return ds

    made = previous_day(tmp_path, day, None, hindcast, "model M")
    assert calls == [pd.Timestamp("2008-06-29")] and made.forecast is not None
    assert (
        made.what
        == "forecast made now by model M at 2008-06-29's issue time (none was published in this output folder)"
    )
    assert "may have been trained on 2008-06-29" in made.note
    (tmp_path / "2008-06-29").mkdir()
    write_netcdf(ds, tmp_path / "2008-06-29" / "forecast.nc")
    published = previous_day(tmp_path, day, None, hindcast, "model M")
    assert len(calls) == 1, "a published forecast of D-1 is read, not remade"
    assert published.what == "forecast published by the run of 2008-06-29, models:/gridai-load@champion"
    failed = previous_day(None, day, None, lambda d: (_ for _ in ()).throw(RuntimeError("boom")), "M")
    assert failed.forecast is None and "boom" in failed.what


def test_job_report_shows_setup_and_unrated_loading(dayahead_reference: Path) -> None:
    page = (dayahead_reference / DAYAHEAD_DAY / "report.html").read_text()
    assert page.count(PLOTLY_BANNER) == 1
    keys = set(chart_keys(page))
    assert {"system", "previous-day", "dispatch", "feeder-f1", "assets-f1", "feeder-f2", "assets-f2"} <= keys
    assert "Feeder load scaling" in page and "peak_fraction 0.8 x nominal 3,715 kW (default)" in page
    assert "battery added: the feeder lists none" in page
    assert "no rated branch" in page, "case33bw has no thermal ratings: no 0.000 % loading"
    assert _state(page) in ("ok", "warnings", "fallbacks")


# ------------------------------------------------------------------------------------- browser
@pytest.mark.skipif(bool(os.environ.get("GRIDAI_SKIP_BROWSER")), reason="GRIDAI_SKIP_BROWSER is set")
def test_report_charts_draw_in_headless_chromium(tmp_path: Path) -> None:
    # `make test` (CI) installs Debian's chromium; without it this test fails rather than skips.
    assert shutil.which("chromium"), (
        "chromium is not installed: run `make browser` (or set GRIDAI_SKIP_BROWSER=1)"
    )
    prev = pd.date_range("2008-06-29", periods=24, freq="h")
    p = PreviousDay("2008-06-29", _quantile_frame(20000.0, prev), None, "made now")
    page = tmp_path / "report.html"
    page.write_text(render_report(_report(3, previous=p, tz="Europe/Berlin")))
    expected = list(chart_keys(page.read_text()))
    assert len(expected) == 9
    shot, dom = tmp_path / "shot.png", tmp_path / "dom.html"
    script = REPO_ROOT / "experiments" / "render_report.sh"
    subprocess.run(
        ["bash", str(script), str(page), str(shot), str(dom)], check=True, timeout=180, capture_output=True
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    parts = re.split(r'<div class="chart" data-chart="([^"]+)">', dom.read_text())
    drawn = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert list(drawn) == expected
    for key, seg in drawn.items():
        assert 'class="main-svg"' in seg, f"chart {key} has no plotly SVG: it did not draw"
        lines = re.findall(r'class="js-line"[^>]*\bd="M', seg)
        bars = re.findall(r'class="point"[^>]*>\s*<path[^>]*\bd="M', seg)
        assert lines or bars, f"chart {key} drew no trace"
