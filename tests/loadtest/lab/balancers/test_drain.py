"""HAProxy and Apache drain through their own control planes (runtime API, balancer-manager): a rolling deploy
behind them fails no request."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
from tests.loadtest.lab.balancers.clients import Client, installed

DRAIN_S = 0.5
ADMIT_TIMEOUT = 15.0


class Traffic:
    """Clients reading their sessions in a loop on threads, until stopped."""

    def __init__(self, url: str, count: int = 4) -> None:
        self.clients = [Client(url, app=index % 2 == 1) for index in range(count)]
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(c,), daemon=True) for c in self.clients]

    def _run(self, client: Client) -> None:
        client.login()
        while not self.done.is_set():
            client.read()

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(10.0)


@pytest.mark.parametrize("balancer", ["haproxy", "apache"])
def test_a_rolling_deploy_through_the_control_plane_fails_no_request(balancer: str, tmp_path: Path) -> None:
    installed(balancer)
    config = ClusterConfig(nodes=2, routing="sticky", store="cookie", balancer=balancer, log_dir=tmp_path)
    with LocalCluster(config) as cluster:
        control = ClusterControl(cluster)
        with Traffic(cluster.url) as traffic:
            for name in ("node-1", "node-2"):
                control.drain(name)
                assert control.wait_state(name, "draining", 5.0), control.upstream_state(name)
                assert not control.wait_state(name, "ready", DRAIN_S)  # drained: the pause before the stop
                control.stop_node(name)
                control.start_node(name)
                assert control.wait_state(name, "draining", ADMIT_TIMEOUT), control.upstream_state(name)
                control.ready(name)
                assert control.wait_state(name, "ready", 5.0)
    reads = sum(c.hits + c.misses for c in traffic.clients)
    assert reads > 20 and sum(c.errors for c in traffic.clients) == 0, [c.error_statuses for c in traffic.clients]
    assert sum(c.misses for c in traffic.clients) == 0  # the cookie store: a restarted node loses no session
