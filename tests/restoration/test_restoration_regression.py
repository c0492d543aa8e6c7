"""Regression: one FLISR plan on case33bw against its stored result.

The case: case33bw at nominal load, a fault on line 21 (the lateral from bus 21), default
restoration settings but an exact MIP (``mip_rel_gap=0``: with the default gap any plan within
1e-6 of the optimum could be returned). Only part of the 930 kW interrupted can be fed back through
the tie: the plan isolates, closes one tie and sheds part of the load, so the stored result covers
the switching plan, the restored kW, the shedding per bus, the objective and the AC verification.

Stored in ``tests/fixtures/regression/restoration_case33bw_line21.json``; to regenerate after an
intended change: ``GRIDAI_REGEN=1 .venv/bin/python -m pytest tests/restoration/test_restoration_regression.py``
(it rewrites the file and fails; review the diff and commit it with the reason).
"""

from __future__ import annotations

from typing import Any

from gridai.restoration import RestorationConfig, restore

from support import NetFactory, check_regression

FAULT_LINE = 21


def test_case33bw_line21_plan_matches_stored_result(case33bw: NetFactory) -> None:
    cfg = RestorationConfig(mip_rel_gap=0.0, time_limit_s=60.0)
    plan = restore(case33bw(), [FAULT_LINE], config=cfg, name="case33bw")
    a = plan.rn.arrays
    summary: dict[str, Any] = {
        "status": plan.status,
        "ok": plan.ok,
        "switch_sequence": [step.to_dict() for step in plan.sequence],
        "final_open_branches": [plan.rn.branch_label(int(k)) for k in (~plan.closed).nonzero()[0]],
        "restored_kw": plan.restored_kw,
        "interrupted_kw": plan.interrupted_kw,
        "unserved_kw": plan.unserved_kw,
        "time_to_restore_min": plan.time_to_restore_min,
        "objective": plan.objective,
        # bus -> served fraction of its load, for the buses the fault interrupted
        "served_fraction": {
            str(int(a.bus[i])): float(plan.served_fraction[i]) for i in range(a.n_bus) if plan.interrupted[i]
        },
        "verification": {
            "passed": plan.verification.passed,
            "checks": plan.verification.checks,
            "v_min_pu": float(plan.verification.v_min_pu),
        },
    }
    check_regression({"restoration_case33bw_line21.json": summary})
