"""A primary demoted under a node (REPLICAOF) answers READONLY: the node turns it into a 503 and heals by itself.

Also: WAIT (SESSION_REDIS_WAIT) on a replica-less primary still answers the write, counted as under-acknowledged;
and writes behave the same through the automatic pipeline as one by one (the compare-and-set reloads its script
after a restart).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import redis

from loadtest.lab.processes import wait_until
from loadtest.lab.redis_server import RedisServer
from tests.nodes.calls import login, me


@pytest.fixture
def pair() -> Iterator[tuple[RedisServer, RedisServer]]:
    """A primary and its replica (holding the same sessions), on free ports."""
    with RedisServer() as primary, RedisServer() as replica:
        with redis.Redis(port=replica.port) as client:
            client.replicaof(primary.host, primary.port)
            assert wait_until(lambda: client.info("replication")["master_link_status"] == "up", 10.0)
        yield primary, replica


def swap_roles(old: RedisServer, new: RedisServer) -> None:
    """Promote `new`, demote `old` to its replica, as a coordinated failover would.

    The replica first catches up (WAIT): replication is asynchronous, and promoting a replica that has not yet
    received the last writes would lose them, which is a different test (the store-failover scenario's).
    """
    with redis.Redis(port=new.port) as promoted, redis.Redis(port=old.port) as demoted:
        assert demoted.wait(1, 10_000) == 1, "the replica did not acknowledge the primary's writes in 10 s"
        promoted.replicaof("NO", "ONE")
        demoted.replicaof(new.host, new.port)
        assert wait_until(lambda: demoted.info("replication")["master_link_status"] == "up", 10.0)


async def test_readonly_from_a_demoted_primary_is_a_503_and_heals_without_a_restart(start_node, client, pair):  # type: ignore[no-untyped-def]
    primary, replica = pair
    node = await start_node("redis", REDIS_URL=primary.url)
    browser = client()
    await login(browser, node)
    assert (await browser.post(f"{node}/counter")).status == 200
    swap_roles(primary, replica)
    for method, path in (("POST", "/counter"), ("GET", "/me"), ("POST", "/login")):  # GETEX writes a TTL: refused too
        response = await browser.request(method, f"{node}{path}", json={"user": "ann"})
        assert response.status == 503, (path, await response.text())
        assert response.headers["Retry-After"] == "1"
        assert await response.json() == {"error": "session store unavailable"}
    assert (await browser.get(f"{node}/readyz")).status == 200  # PING still answers: reachable, but not writable
    swap_roles(replica, primary)  # the URL's server is primary again: the same node serves, session intact
    status, body = await me(browser, node)
    assert status == 200 and body["counter"] == 1
    assert (await (await browser.post(f"{node}/counter")).json())["counter"] == 2


async def test_wait_without_replicas_answers_and_counts_the_write(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_url, SESSION_REDIS_WAIT="1", SESSION_REDIS_WAIT_TIMEOUT="0.05")
    browser = client()
    await login(browser, node)
    response = await browser.post(f"{node}/counter")
    assert response.status == 200 and (await response.json())["counter"] == 1


async def test_concurrent_requests_each_get_their_own_answer(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    """Commands of many requests share pipelines: every user still sees only its own session."""
    node = await start_node("redis", REDIS_URL=redis_url)
    browsers = [client() for _ in range(30)]
    await asyncio.gather(*(login(b, node, user=f"user-{i}") for i, b in enumerate(browsers)))
    for _ in range(3):
        await asyncio.gather(*(b.post(f"{node}/counter") for b in browsers))
    answers = await asyncio.gather(*(me(b, node) for b in browsers))
    assert [(status, body["user"], body["counter"]) for status, body in answers] == [
        (200, f"user-{i}", 3) for i in range(30)
    ]


async def test_a_restarted_redis_gets_the_script_again(start_node, client):  # type: ignore[no-untyped-def]
    with RedisServer() as server:
        node = await start_node("redis", REDIS_URL=server.url)
        browser = client()
        await login(browser, node)
        with redis.Redis(port=server.port) as admin:
            admin.script_flush()  # what a restart does to the script cache
        response = await browser.post(f"{node}/counter")
        assert response.status == 200 and (await response.json())["counter"] == 1
