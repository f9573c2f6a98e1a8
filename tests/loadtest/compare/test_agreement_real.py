"""Two replicas of each real balancer in front of the same nodes: where the mechanism decides the node (a cookie that
names it, a hash over the same ring, the route tag), both send every session to the same node, as the theory of
affinity agreement says; under random placement they do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.compare.record.agreement import theory
from loadtest.compare.run.agreement import measure
from loadtest.compare.spec import CellSpec
from loadtest.lab.balancers import BALANCERS, mechanism
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from tests.loadtest.lab.balancers.clients import installed

CASES = [(name, mode) for name in BALANCERS for mode in ("sticky", "hash", "route")
         if mechanism(name, mode).offered]  # fmt: skip


def replicas(balancer: str, mode: str, folder: Path) -> LocalCluster:
    installed(balancer)
    config = ClusterConfig(nodes=3, routing=mode, store="memory", balancer=balancer, balancer_replicas=2,
                           log_dir=folder)  # fmt: skip
    return LocalCluster(config)


@pytest.mark.parametrize(("balancer", "mode"), CASES)
def test_both_replicas_send_a_session_where_the_mechanism_says(balancer: str, mode: str, tmp_path: Path) -> None:
    spec = CellSpec(mode, "memory", "steady", 3, 1, 1.0, balancer=balancer, balancer_replicas=2)
    with replicas(balancer, mode, tmp_path) as cluster:
        assert len(set(cluster.urls)) == 2
        found = measure(cluster.urls, sessions=12)
    for key, app in (("affinity_agreement", False), ("affinity_agreement_app", True)):
        expected, why = theory(spec, app=app)
        assert found[f"{key}_unanswered"] == 0, found
        if expected is not None:
            assert found[key] == expected, (key, why, found)


def test_random_placement_on_two_replicas_sends_sessions_apart(tmp_path: Path) -> None:
    with replicas("haproxy", "random", tmp_path) as cluster:
        found = measure(cluster.urls, sessions=20)
    assert found["affinity_agreement"] is not None and found["affinity_agreement"] < 1.0  # (1/3)**20 to fail
