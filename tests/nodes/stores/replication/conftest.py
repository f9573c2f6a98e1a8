"""Fixtures: real replicating node processes (stopped by PID after each test) and a real HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.nodes.stores.replication.support import Cluster

ClusterFactory = Callable[..., Cluster]


@pytest.fixture
def start_cluster(tmp_path: Path) -> Iterator[ClusterFactory]:
    clusters: list[Cluster] = []

    def start(count: int = 3, spare: int = 0, **env: str) -> Cluster:
        cluster = Cluster(tmp_path / f"cluster-{len(clusters)}", count, spare, **env)
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session
