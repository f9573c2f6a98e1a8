"""The cluster control API on a real cluster: drain, ready, add a new node process, remove; nothing survives."""

from __future__ import annotations

from pathlib import Path

from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
from loadtest.lab.probe import request


def test_drain_ready_add_remove_through_the_runtime_api(tmp_path: Path) -> None:
    cluster = LocalCluster(ClusterConfig(nodes=2, routing="round_robin", store="memory", log_dir=tmp_path))
    with cluster:
        control = ClusterControl(cluster)
        control.drain("node-1")
        assert control.upstream_state("node-1") == "draining"
        served = {request("GET", cluster.url + "/healthz").headers.get("X-Node-Id") for _ in range(6)}
        assert served == {"node-2"}  # a drained node takes no new work under round robin
        control.ready("node-1")
        assert control.upstream_state("node-1") == "ready"
        name = control.start_extra_node()
        assert name == "node-3" and control.upstream_state(name) is None  # running, not yet a member
        control.add(name)
        assert control.wait_state(name, "ready", timeout=15)
        control.remove(name)
        assert control.upstream_state(name) is None
        processes = cluster.processes()
        assert len(processes) == 4 and all(p.running() for p in processes)
    assert not any(p.running() for p in processes)


def test_a_wrong_token_changes_nothing(tmp_path: Path) -> None:
    with LocalCluster(ClusterConfig(nodes=2, store="memory", log_dir=tmp_path)) as cluster:
        answer = request("POST", cluster.url + "/_balancer/upstreams/drain", json_body={"url": cluster.nodes[0].url},
                         headers={"Authorization": "Bearer not-the-token-at-all"})  # fmt: skip
        assert answer.status == 401
        assert ClusterControl(cluster).upstream_state("node-1") == "ready"
