"""node-failure: its event SIGKILLs node-1 at the midpoint on a real cluster, and theory splits at the kill."""

from __future__ import annotations

import time
from pathlib import Path

from loadtest.compare.record.cells import build_cell
from loadtest.compare.run.timeline import run_timeline
from loadtest.compare.scenarios import scenario_for
from loadtest.compare.spec import CellSpec, Kill
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
from tests.loadtest.compare.generated import stats_doc

SPEC = CellSpec("random", "memory", "node-failure", nodes=3, users=30, duration=10.0)


def test_one_event_kills_node_1_at_the_midpoint() -> None:
    [event] = scenario_for("node-failure").events(SPEC)
    assert event.at == 5.0 and event.what == "SIGKILL node-1"


def test_the_event_kills_the_node_on_a_real_cluster_and_records_when_it_was_ejected(tmp_path: Path) -> None:
    scenario = scenario_for("node-failure")
    config = ClusterConfig(nodes=2, log_dir=tmp_path, health_interval=0.2)
    with LocalCluster(config) as cluster:
        control = ClusterControl(cluster)
        events = [type(e)(at=0.0, action=e.action, what=e.what) for e in scenario.events(SPEC)]
        records = run_timeline(events, control, time.time(), say=lambda text: None)
        assert cluster.dead_members() == ["node-1"] and control.taken_down == {"node-1"}
    [record] = records
    assert record["what"] == "SIGKILL node-1" and record["killed"] == "node-1"
    assert record["ejected_after_s"] is not None and "ejected" in record["outcome"]
    kill = scenario.disruption(records)
    assert kill is not None and kill.node == "node-1" and kill.ejected_at_s is not None


def test_theory_expects_more_misses_after_the_kill_and_does_not_predict_errors() -> None:
    stats = stats_doc(2 / 3, kill_at=5.0, after_p=0.5)
    record = build_cell(SPEC, stats, Kill("node-1", 5.0, 5.4), [{"t": 5.0, "what": "SIGKILL node-1"}]).to_json()
    assert record["expected_rate_before_kill"] > record["expected_rate_after_kill"] > 0
    assert record["events"] == [{"t": 5.0, "what": "SIGKILL node-1"}] and record["verdict"] == "ok"
    assert record["expected_errors"] is None and record["errors_agree_with_theory"] is None
