"""Concurrent writes to one session from every node: with cas, decided by the session's primary, none is lost."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from nodes.contract.names import TOKEN_HEADER
from tests.nodes.stores.replication.conftest import ClusterFactory
from tests.nodes.stores.replication.support import PATIENT, connected, eventually, login, me

CONCURRENT = 60


# Generous: this is about concurrency, not timeouts. On a loaded 2-core machine a forwarded write can take longer
# than the default 0.5 s, and is then a 503 by design (see test_failures.py), which is not what is measured here.
async def increment_everywhere(http: aiohttp.ClientSession, urls: list[str], token: str) -> list[int]:
    async def one(index: int) -> int:
        response = await http.post(f"{urls[index % len(urls)]}/counter", headers={TOKEN_HEADER: token})
        assert response.status == 200, await response.text()
        return int((await response.json())["counter"])

    return list(await asyncio.gather(*(one(index) for index in range(CONCURRENT))))


@pytest.mark.parametrize("scope,mode", [("all", "sync"), ("backup", "sync"), ("all", "async")])
async def test_cas_keeps_every_concurrent_increment(
    start_cluster: ClusterFactory, http: aiohttp.ClientSession, scope: str, mode: str
):
    cluster = start_cluster(3, SESSION_REPLICATION=scope, SESSION_REPLICATION_MODE=mode, **PATIENT)
    await connected(http, cluster)
    token = await login(http, cluster.nodes[0])

    async def logged_in_everywhere() -> bool:  # async: the login reaches the others after its answer
        return [(await me(http, node, token))[0] for node in cluster.nodes] == [200] * 3

    await eventually(logged_in_everywhere, within=5.0)
    answers = await increment_everywhere(http, [node.url for node in cluster.nodes], token)
    assert sorted(answers) == list(range(1, CONCURRENT + 1))  # each answer shows the value actually stored

    async def everywhere() -> bool:
        return [(await me(http, node, token))[1].get("counter") for node in cluster.nodes] == [CONCURRENT] * 3

    await eventually(everywhere, within=5.0)


async def test_last_write_wins_can_lose_increments(start_cluster: ClusterFactory, http: aiohttp.ClientSession):
    """Tomcat's own behaviour, kept for comparison: each node writes its copy, the last copy to arrive wins."""
    cluster = start_cluster(3, SESSION_CONSISTENCY="last_write_wins", **PATIENT)
    await connected(http, cluster)
    token = await login(http, cluster.nodes[0])
    await increment_everywhere(http, [node.url for node in cluster.nodes], token)
    final = (await me(http, cluster.nodes[0], token))[1]["counter"]
    assert final < CONCURRENT, f"last_write_wins kept all {CONCURRENT} increments; expected some to be lost"
