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


AGREED = {"affinity_replicas": 2, "affinity_agreement": 1.0, "affinity_agreement_theory": 1.0,
          "affinity_agreement_app": 0.35, "affinity_agreement_app_theory": None,
          "affinity_agreement_explanation": "the affinity cookie names the node"}  # fmt: skip


def test_with_replicas_each_balancer_shows_its_affinity_agreement_beside_the_theory() -> None:
    found = balancers.section([cell("sessionlab", "sticky", 0.0, **AGREED)])  # ours alone: shown for the replicas
    (ours,) = found["balancers"]
    (row,) = ours["agreement"]
    assert row[:4] == ["sticky", "memory", "steady", "2"]
    assert row[4] == "100.0% (theory 100.0%)" and row[5] == "35.0% (not modelled)"
    assert "cookie names the node" in row[6]


def test_a_replica_that_sends_a_session_elsewhere_is_marked_off_theory_on_agreement() -> None:
    off = cell("haproxy", "hash", 0.0, **{**AGREED, "affinity_agreement": 0.9, "affinity_agrees_with_theory": False,
                                          "agrees_with_theory": False, "miss_agrees_with_theory": True})  # fmt: skip
    grid = build_grids([off])[0]
    text = grid.rows[0].cells["hash"].theory_text()
    assert "affinity agreement (browsers 90.0%" in text and "theory: 100%" in text
