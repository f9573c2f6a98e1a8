"""`sessionlab probe` against `sessionlab cluster`'s own pieces: the misses and shares compare's theory predicts,
none behind a sticky balancer, a node killed by an --event marked and followed by re-pins, --fail-on exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.compare.theory.expect import expect
from loadtest.compare.theory.model import Exposure
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from tests.support import sessionlab

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalCluster]:
    config = ClusterConfig(nodes=3, routing=request.param, store="memory", log_dir=tmp_path, health_interval=0.2)
    with LocalCluster(config) as started:
        yield started


def probe(cluster: LocalCluster, out: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = sessionlab("probe", "--target", cluster.url, "--out", str(out), "--rate", "50", *args, timeout=90)
    assert run.returncode in (0, 1), run.stderr
    return run.returncode, json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("cluster", ["random"], indirect=True)
def test_random_routing_misses_two_thirds_spread_over_three_backends(cluster: LocalCluster, tmp_path: Path) -> None:
    status, results = probe(cluster, tmp_path, "--duration", "6s", "--fail-on", "miss_rate>0.01")
    assert status == 1  # the threshold is crossed
    assert results["thresholds"] == [{"expression": "miss_rate>0.01", "value": results["miss_rate"], "crossed": True}]
    requests = results["session_requests"]
    theory = expect("random", "memory", Exposure(3, results["meta"]["users"], {"browser": requests}))
    assert abs(results["miss_rate"] - 2 / 3) <= theory.tolerance()
    assert sorted(results["backends"]) == ["node-1", "node-2", "node-3"]
    assert all(abs(share - 1 / 3) < 0.1 for share in results["backends"].values())
    assert results["theory"]["agrees"] and results["theory"]["routing"] == "random"
    assert results["repins"] > 0 and results["distinct_nodes_per_session"]["max"] >= 2


@pytest.mark.parametrize("cluster", ["sticky"], indirect=True)
def test_sticky_routing_misses_nothing_until_a_node_is_killed(cluster: LocalCluster, tmp_path: Path) -> None:
    status, results = probe(cluster, tmp_path / "steady", "--duration", "4s", "--fail-on", "miss_rate>0.01")
    assert status == 0
    assert results["misses"] == 0 and results["repins"] == 0 and results["session_requests"] > 100
    assert results["distinct_nodes_per_session"]["max"] == 1
    assert results["thresholds"][0]["crossed"] is False

    _, results = probe(cluster, tmp_path / "mixed", "--duration", "4s", "--rate", "0", "--users", "9",
                       "--kinds", "browser,app")  # fmt: skip
    assert results["meta"]["loop"] == "closed" and results["meta"]["users"] == {"browser": 6, "app": 3}
    assert results["by_kind"]["browser"]["misses"] == 0  # pinned by the balancer's cookie
    assert results["by_kind"]["app"]["misses"] > 0  # no cookies, so spread over the nodes, as theory says
    assert results["theory"]["agrees"]

    victim = cluster.nodes[0]
    command = f"kill -9 {victim.process.pid}"
    _, results = probe(cluster, tmp_path / "kill", "--duration", "8s", "--users", "12", "--event", f"3s: {command}")
    assert [(e["label"], e["source"], e["exit_status"]) for e in results["events"]] == [(command, "event", 0)]
    assert 2.9 <= results["events"][0]["at_s"] < 4
    assert results["repins"] >= 1  # the dead node's users moved to a survivor ...
    assert all(row["repins"] == 0 for row in results["timeline"] if row["t"] < 3)  # ... only after the kill
    assert results["theory"]["killed"] and results["theory"]["agrees"]
    report = (tmp_path / "kill" / "report.md").read_text()
    assert command in report and "plots/timeline.png" in report
