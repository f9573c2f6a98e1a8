"""The cluster control API scenario events call: a node stopped, started again on its address, and readmitted."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
from loadtest.lab.probe import request
from tests.support import http_status


def test_a_stopped_node_is_ejected_then_started_again_on_its_address_and_readmitted(tmp_path: Path) -> None:
    with LocalCluster(ClusterConfig(nodes=2, log_dir=tmp_path, health_interval=0.2)) as cluster:
        control = ClusterControl(cluster)
        url = control.member("node-2").url
        assert control.stop_node("node-2") is not None and http_status(url + "/healthz") is None
        assert control.wait_ejected("node-2", 10.0) and control.taken_down == {"node-2"}
        control.start_node("node-2")
        assert http_status(url + "/healthz") == 200 and control.wait_admitted("node-2", 10.0)
        assert control.taken_down == set() and cluster.dead_members() == []


def test_unknown_names_and_a_missing_redis_are_clear_errors(tmp_path: Path) -> None:
    with LocalCluster(ClusterConfig(nodes=2, log_dir=tmp_path)) as cluster:
        control = ClusterControl(cluster)
        with pytest.raises(KeyError, match="node-1, node-2"):
            control.kill_node("node-9")
        with pytest.raises(RuntimeError, match="no redis-server"):
            control.kill_redis()
        assert len(cluster.admin_token) >= 24  # handed to the balancer as BALANCER_ADMIN_TOKEN


def test_drain_ready_add_a_spare_and_remove_through_the_runtime_api(tmp_path: Path) -> None:
    config = ClusterConfig(nodes=2, routing="round_robin", store="memory", log_dir=tmp_path, spares=1)
    cluster = LocalCluster(config)
    with cluster:
        control = ClusterControl(cluster)
        control.drain("node-1")
        assert control.upstream_state("node-1") == "draining"
        served = {request("GET", cluster.url + "/healthz").headers.get("X-Node-Id") for _ in range(6)}
        assert served == {"node-2"}  # a drained node takes no new work under round robin
        control.ready("node-1")
        assert control.upstream_state("node-1") == "ready"
        assert control.upstream_state("node-3") is None  # the spare runs, but the balancer does not know it
        control.add("node-3")
        assert control.wait_state("node-3", "ready", timeout=15)
        control.remove("node-3")
        assert control.upstream_state("node-3") is None
        processes = cluster.processes()
        assert len(processes) == 4 and all(p.running() for p in processes)
    assert not any(p.running() for p in processes)


def test_a_wrong_token_changes_nothing(tmp_path: Path) -> None:
    with LocalCluster(ClusterConfig(nodes=2, store="memory", log_dir=tmp_path)) as cluster:
        answer = request("POST", cluster.url + "/_balancer/upstreams/drain", json_body={"url": cluster.nodes[0].url},
                         headers={"Authorization": "Bearer not-the-token-at-all"})  # fmt: skip
        assert answer.status == 401
        assert ClusterControl(cluster).upstream_state("node-1") == "ready"


def test_a_stopped_and_a_killed_node_keep_their_replication_counters_in_the_cells_record(tmp_path: Path) -> None:
    """A rolling deploy restarts every node, and a restarted node counts from zero: a failed send before the
    restart must still show in `replication_traffic` (the premise of the replicated store's theory)."""
    config = ClusterConfig(nodes=3, store="replicated", log_dir=tmp_path)
    with LocalCluster(config) as cluster:
        control = ClusterControl(cluster)
        login = request("POST", control.member("node-1").url + "/login", json_body={"user": "ann"},
                        headers={"X-Session-Token": "new"})  # fmt: skip
        assert login.status == 200
        before = cluster.replication_traffic()
        assert before is not None and before["writes"] >= 1
        control.stop_node("node-1")
        control.kill_node("node-2")
        after = cluster.replication_traffic()
        assert after is not None and after["writes"] >= before["writes"] and after["nodes_answered"] == 3
