"""The cluster control API scenario events call: a node stopped, started again on its address, and readmitted."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
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
