"""Fault-suite fixtures: a real local cluster (node processes, a balancer process, a private redis-server) per test,
with short health-check and timeout settings so each fault shows and heals within seconds."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.lab.cluster import ClusterConfig, LocalCluster

HEALTH_INTERVAL = 0.2  # seconds between the balancer's health checks
FAULT_ENV = {
    "BALANCER_HEALTH_TIMEOUT": "0.5",
    "BALANCER_CONNECT_TIMEOUT": "1",
    "BALANCER_READ_TIMEOUT": "2",
    "BALANCER_SHUTDOWN_TIMEOUT": "2",
}

ClusterFactory = Callable[..., LocalCluster]


@pytest.fixture
def start_cluster(tmp_path: Path) -> Iterator[ClusterFactory]:
    """Start a LocalCluster (`env` overrides FAULT_ENV); every process it started is stopped after the test."""
    clusters: list[LocalCluster] = []

    def start(*, env: dict[str, str] | None = None, **config: Any) -> LocalCluster:
        settings = {**FAULT_ENV, **(env or {})}
        log_dir = tmp_path / f"cluster-{len(clusters)}"
        cluster = LocalCluster(
            ClusterConfig(log_dir=log_dir, health_interval=HEALTH_INTERVAL, extra_env=tuple(settings.items()), **config)
        )
        clusters.append(cluster)
        cluster.start(timeout=60.0)
        return cluster

    yield start
    for cluster in clusters:
        for process in cluster.processes():  # a SIGSTOPped node would ignore SIGTERM until killed
            if process.running() and process.pid is not None:
                os.kill(process.pid, signal.SIGCONT)
        cluster.stop()
