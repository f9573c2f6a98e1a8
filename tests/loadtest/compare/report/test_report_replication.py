"""The report's "What replication costs" section: latency and traffic per write against node count, from real
cell records (build_cell on generated locust output), next to Tomcat's all-to-all N-1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtest.compare import report
from loadtest.compare.record.cells import build_cell
from loadtest.compare.report.replication import section
from loadtest.compare.spec import CellSpec
from loadtest.lab.replication import cluster_traffic
from tests.loadtest.compare.generated import stats_doc

MODES = ("all-sync", "all-async", "backup-sync")


def traffic(mode: str, nodes: int) -> dict[str, Any]:
    """Node counters as three nodes' /_replication/stats would sum: all sends N-1 copies, backup one (+ forward)."""
    messages = nodes - 1 if mode.startswith("all") else 2 - 2 / nodes
    answers = [{"writes": 100, "messages_sent": round(100 * messages), "bytes_sent": round(37_000 * messages),
                "lag_ms_max": 3.0}, None]  # fmt: skip
    return cluster_traffic(answers)


def cells() -> list[dict[str, Any]]:
    built = []
    for nodes in (2, 3, 5):
        for store, mode in [*(("replicated", mode) for mode in MODES), ("redis", None), ("memory", None)]:
            spec = CellSpec("route", store, "steady", nodes, 30, 10.0, replication=mode)
            record = traffic(mode, nodes) if mode else None
            built.append(build_cell(spec, stats_doc(0.0, nodes=nodes), replication=record).to_json())
    return built


def test_latency_and_traffic_against_node_count_beside_tomcats_all_to_all() -> None:
    model = section(cells())
    assert model is not None
    headers = model["latency"]["headers"][2:]
    assert [int(header.split()[0]) for header in headers] == [2, 3, 5] and all(
        "p50" in h and "p99" in h for h in headers
    )
    labels = [row[0] for row in model["latency"]["rows"]]
    assert labels == ["replicated all-sync", "replicated all-async", "replicated backup-sync", "redis", "memory"]
    rows = {row[0]: row[2:] for row in model["traffic"]["rows"]}
    assert rows["replicated all-sync"] == ["1.00 (370 B)", "2.00 (740 B)", "4.00 (1,480 B)"]
    assert rows["replicated backup-sync"][2] == "1.60 (592 B)"
    assert rows["Tomcat DeltaManager (all-to-all)"] == ["1", "2", "4"]
    assert section([c for c in cells() if not c.get("replication")]) is None  # no replicated cell: no section


def test_the_section_and_its_figure_are_in_both_reports(tmp_path: Path) -> None:
    results = {"meta": {"nodes": [2, 3, 5], "users": 30, "duration": 10.0}, "cells": cells()}
    report.write_report(tmp_path, results)
    markdown = (tmp_path / "report.md").read_text()
    assert "## What replication costs" in markdown
    assert "| Tomcat DeltaManager (all-to-all) | any | 1 | 2 | 4 |" in markdown
    assert "| replicated all-sync / route / steady |" in markdown  # the detail tables name the replication mode
    assert "What replication costs" in (tmp_path / "report.html").read_text()
    assert (tmp_path / "plots" / "replication_cost.png").stat().st_size > 0
