"""The Redis store on a real local 3-master Redis Cluster: sessions and the per-user index across shards."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from redis.crc import key_slot

from loadtest.lab.redis_server import CLUSTER_SLOTS, RedisClusterServers
from nodes.stores.redis import KEY_PREFIX
from tests.nodes.calls import app_login, login, me

USERS = 24


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisClusterServers]:
    cluster = RedisClusterServers(masters=3).start()
    yield cluster
    cluster.cleanup()


def owner(session_id: str, masters: int = 3) -> int:
    """Index of the master that owns the session's key (slots were split evenly, in order)."""
    return min(key_slot((KEY_PREFIX + session_id).encode()) // (CLUSTER_SLOTS // masters), masters - 1)


async def test_sessions_spread_over_shards_and_are_shared(start_node, client, redis_cluster):  # type: ignore[no-untyped-def]
    first = await start_node("redis", REDIS_URL=redis_cluster.url)
    second = await start_node("redis", REDIS_URL=redis_cluster.url)
    app = client(cookies=False)
    tokens = []
    for index in range(USERS):
        response = await login(app, first, user=f"user-{index}", headers={"X-Session-Token": "new"})
        tokens.append(response.headers["X-Session-Token"])
    assert {owner(token) for token in tokens} == {0, 1, 2}  # the keys really landed on every shard
    for index, token in enumerate(tokens):
        status, body = await me(app, second, headers={"X-Session-Token": token})
        assert (status, body["user"]) == (200, f"user-{index}")
        assert (await app.post(f"{second}/counter", headers={"X-Session-Token": token})).status == 200


async def test_logout_all_reaches_sessions_on_every_shard(start_node, client, redis_cluster):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_cluster.url)
    app = client(cookies=False)
    tokens = [await app_login(app, node, user="carol") for _ in range(9)]
    assert len({owner(token) for token in tokens}) >= 2
    response = await app.post(f"{node}/logout-all", headers={"X-Session-Token": tokens[0]})
    assert (await response.json())["sessions_ended"] == 9
    for token in tokens:
        assert (await me(app, node, headers={"X-Session-Token": token}))[0] == 401


async def test_a_dead_master_fails_only_its_own_slots_with_a_fast_503(start_node, client):  # type: ignore[no-untyped-def]
    cluster = RedisClusterServers(masters=3).start()  # its own cluster: this test kills a master
    try:
        node = await start_node("redis", REDIS_URL=cluster.url)
        app = client(cookies=False)
        tokens = [await app_login(app, node, user=f"u{index}") for index in range(USERS)]
        cluster.servers[1].kill()
        for token in tokens:
            started = time.monotonic()
            response = await app.get(f"{node}/me", headers={"X-Session-Token": token})
            assert time.monotonic() - started < 2.0
            expected = 503 if owner(token) == 1 else 200
            assert response.status == expected, (owner(token), await response.text())
            if expected == 503:
                assert (await response.json()) == {"error": "session store unavailable"}
    finally:
        cluster.cleanup()
