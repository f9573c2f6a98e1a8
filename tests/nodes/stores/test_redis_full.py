"""A full Redis: with noeviction logins get a readable 503 and nothing stored is lost; with allkeys-lru logins go
on and old sessions silently vanish, which the node counts as sessions not found. Real redis-server processes with
a 2 MB maxmemory, 16 KB sessions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from loadtest.lab.redis_server import RedisServer
from nodes.contract.names import STORE_FULL_ERROR
from tests.nodes.calls import me
from tests.nodes.test_session_stats import stats

PAD_KB = "16"
MAX_LOGINS = 400  # 2 MB hold about 60 sessions of 16 KB: far fewer logins fill it


@pytest.fixture
def full_redis(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    policy = request.param
    server = RedisServer(extra_args=("--maxmemory", "2mb", "--maxmemory-policy", policy)).start()
    yield server
    server.cleanup()


@pytest.mark.parametrize("full_redis", ["noeviction"], indirect=True)
async def test_noeviction_refuses_logins_with_a_503_and_loses_nothing(start_node, client, full_redis):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=full_redis.url, SESSION_PAD_KB=PAD_KB)
    users = []
    for number in range(MAX_LOGINS):
        browser = client()
        response = await browser.post(f"{node}/login", json={"user": f"user-{number}"})
        if response.status != 200:
            break
        users.append(browser)
    assert response.status == 503, await response.text()
    body = await response.json()
    assert body["error"] == STORE_FULL_ERROR and "already stored still work" in body["detail"]
    assert response.headers["Retry-After"] == "1"
    assert 10 < len(users) < MAX_LOGINS
    for browser in users:  # every session stored before the limit still reads
        assert (await me(browser, node))[0] == 200
    changed = await users[0].post(f"{node}/counter")
    assert changed.status == 503  # a change is refused like a login, readably...
    status, body = await me(users[0], node)
    assert (status, body["counter"]) == (200, 0)  # ...and the session it could not change is intact
    counts = await stats(users[0], node)
    assert counts["logins_refused"] == 1
    assert counts["sessions_not_found"] == 0


@pytest.mark.parametrize("full_redis", ["allkeys-lru"], indirect=True)
async def test_allkeys_lru_keeps_logging_in_and_evicts_sessions_that_are_counted(start_node, client, full_redis):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=full_redis.url, SESSION_PAD_KB=PAD_KB)
    users = []
    for number in range(150):  # about two and a half times what fits
        browser = client()
        response = await browser.post(f"{node}/login", json={"user": f"user-{number}"})
        assert response.status == 200, await response.text()
        users.append(browser)
    statuses = [(await me(browser, node))[0] for browser in users]
    assert set(statuses) == {200, 401}
    assert statuses.count(401) > 50  # nobody logged out, yet most early sessions are gone
    assert statuses[-1] == 200  # the newest ones are kept
    counts = await stats(users[0], node)
    assert counts["sessions_not_found"] == statuses.count(401)
    assert counts["logins_refused"] == 0
    info = redis.Redis.from_url(full_redis.url)
    try:
        assert int(info.info("stats")["evicted_keys"]) >= statuses.count(401)
    finally:
        info.close()
