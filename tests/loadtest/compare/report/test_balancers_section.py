"""The report's per-balancer section and grids: one grid per scenario per balancer, not-offered cells say why."""

from __future__ import annotations

from typing import Any

from loadtest.compare.report import balancers
from loadtest.compare.report.grid import build_grids


def cell(balancer: str, routing: str, miss_rate: float, **extra: Any) -> dict[str, Any]:
    return {"balancer": balancer, "routing": routing, "store": "memory", "scenario": "steady", "miss_rate": miss_rate,
            "misses": 1, "verdict": "ok", "agrees_with_theory": True, "consistency": "cas", "errors": 0,
            "requests": 100, "error_rate": 0.0, "p99_ms": 10.0, **extra}  # fmt: skip


NOT_OFFERED = {"balancer": "nginx", "routing": "sticky", "store": "memory", "scenario": "steady",
               "consistency": "cas", "verdict": "not offered", "not_offered": "that is nginx Plus `sticky cookie`",
               "failure": "not offered: that is nginx Plus `sticky cookie`"}  # fmt: skip


def test_one_grid_per_scenario_per_balancer_and_a_not_offered_cell_says_why() -> None:
    grids = build_grids([cell("sessionlab", "sticky", 0.2), cell("nginx", "hash", 0.05), NOT_OFFERED])
    assert [grid.title for grid in grids] == ["steady, behind sessionlab", "steady, behind nginx"]
    sticky = grids[1].rows[0].cells["sticky"]
    assert not sticky.ran and sticky.not_run_text == "not offered: that is nginx Plus `sticky cookie`"


def test_ours_alone_keeps_the_grids_as_they_were_and_no_section() -> None:
    assert [grid.title for grid in build_grids([cell("sessionlab", "hash", 0.05)])] == ["steady"]
    assert balancers.section([cell("sessionlab", "hash", 0.05)]) == {}


def test_the_section_names_each_balancers_least_lossy_choice_and_its_directive() -> None:
    found = balancers.section([cell("haproxy", "sticky", 0.2), cell("haproxy", "route", 0.01), NOT_OFFERED])
    nginx, haproxy = found["balancers"]  # in the registry's order
    assert haproxy["name"] == "HAProxy" and "memory + route" in haproxy["best"] and "use-server" in haproxy["best"]
    assert haproxy["configs"] == ["configs/haproxy/sticky/", "configs/haproxy/route/"]
    assert nginx["best"] == "" and "not offered" in nginx["rows"][0][3]
