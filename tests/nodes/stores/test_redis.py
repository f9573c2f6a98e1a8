"""The Redis store: ids rotate on login, logout deletes, TTL slides, outages are fast 503s that heal."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from loadtest.lab.processes import wait_until
from loadtest.lab.redis_server import RedisServer
from nodes.stores.redis import KEY_PREFIX
from tests.nodes.calls import cookie_of, login, me


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def session_keys(store: redis.Redis) -> list[bytes]:
    return sorted(store.keys(KEY_PREFIX + "*"))


async def test_login_issues_a_new_id_and_deletes_the_old_key(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_url)
    browser = client()
    await login(browser, node)
    first_id = cookie_of(browser)
    assert session_keys(store) == [f"{KEY_PREFIX}{first_id}".encode()]
    await login(browser, node, user="bob")
    second_id = cookie_of(browser)
    assert second_id != first_id
    assert session_keys(store) == [f"{KEY_PREFIX}{second_id}".encode()]  # the old key is gone, not emptied


async def test_logout_deletes_the_key(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_url)
    browser = client()
    await login(browser, node)
    assert len(session_keys(store)) == 1
    await browser.post(f"{node}/logout")
    assert session_keys(store) == []


async def test_a_client_cannot_choose_its_session_id(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_url)
    browser = client()
    chosen = "A" * 22
    await login(browser, node, headers={"Cookie": f"SL_SESSION={chosen}"})
    assert cookie_of(browser) != chosen
    assert store.exists(KEY_PREFIX + chosen) == 0


async def test_reads_slide_the_idle_timeout(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_url, SESSION_MAX_AGE="100")
    browser = client()
    await login(browser, node)
    key = session_keys(store)[0]
    store.expire(key, 5)
    await me(browser, node)
    assert store.ttl(key) > 90


async def test_expired_session_is_missing(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_url)
    browser = client()
    await login(browser, node)
    store.delete(*session_keys(store))  # what the TTL does when it runs out
    assert (await me(browser, node))[0] == 401


async def test_redis_outage_is_a_fast_503_and_heals_by_itself(start_node, client):  # type: ignore[no-untyped-def]
    """README: never a hang past REDIS_TIMEOUT (0.5 s by default); a refused connection fails at once. Margin:
    0.5 s for a loaded 2-core machine."""
    private = RedisServer().start()  # its own server: this test kills it
    try:
        node = await start_node("redis", REDIS_URL=private.url)
        browser = client()
        await login(browser, node)
        private.kill()
        for path in ("/me", "/counter"):
            started = time.monotonic()
            response = await (browser.get if path == "/me" else browser.post)(f"{node}{path}")
            assert time.monotonic() - started < 0.5 + 0.5
            assert response.status == 503
            assert await response.json() == {"error": "session store unavailable"}
            assert response.headers["Retry-After"] == "1"
            assert response.headers["X-Node-Id"] == "node-1"
        readiness = await browser.get(f"{node}/readyz")
        assert readiness.status == 503
        assert (await browser.get(f"{node}/healthz")).status == 200  # the process still serves
        private.start()  # Redis comes back empty (no persistence): service resumes, the old session is gone
        await login(browser, node)
        assert (await me(browser, node))[0] == 200
        assert (await browser.get(f"{node}/readyz")).status == 200
    finally:
        private.cleanup()


async def test_unresponsive_redis_is_a_503_within_the_timeout(start_node, client):  # type: ignore[no-untyped-def]
    """README: never a hang past REDIS_TIMEOUT (0.3 s here). Margin: 0.5 s for a loaded 2-core machine."""
    private = RedisServer().start()
    try:
        node = await start_node("redis", REDIS_URL=private.url, REDIS_TIMEOUT="0.3")
        browser = client()
        await login(browser, node)
        stopped = redis.Redis.from_url(private.url)
        stopped.client_pause(3000)  # Redis accepts but does not answer, like a stalled server
        started = time.monotonic()
        response = await browser.get(f"{node}/me")
        assert response.status == 503
        assert time.monotonic() - started < 0.3 + 0.5
        assert wait_until(lambda: stopped.ping(), timeout=5)
        stopped.close()
    finally:
        private.cleanup()
