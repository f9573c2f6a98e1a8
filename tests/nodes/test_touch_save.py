"""SESSION_TOUCH and SESSION_SAVE on every store: what a read-only request costs the store, and what it keeps alive.

Real nodes on loopback (the redis store on a real redis-server). Lifetimes are a second or two, and the clients
keep reading through them: no test sleeps through an idle gap.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.nodes.calls import login, me
from tests.nodes.test_session_stats import stats

STORES = ["memory", "redis", "replicated", "cookie"]
READS = 5


async def start(start_node, store: str, redis_url: str, **env: str) -> str:  # type: ignore[no-untyped-def]
    return await start_node(store, REDIS_URL=redis_url, SESSION_PEER_SECRET="p" * 16, **env)  # type: ignore[no-any-return]


async def reads_cost(start_node, client, redis_url: str, store: str, **env: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Counters spent by READS read-only requests after a login."""
    node = await start(start_node, store, redis_url, **env)
    browser = client()
    await login(browser, node)
    before = await stats(browser, node)
    for _ in range(READS):
        assert (await me(browser, node))[0] == 200
    after = await stats(browser, node)
    return {name: after[name] - before[name] for name in ("store_reads", "store_writes", "store_touches")}


@pytest.mark.parametrize("store", STORES)
async def test_on_change_reads_write_nothing(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    cost = await reads_cost(start_node, client, redis_url, store, SESSION_TOUCH="on-change")
    assert (cost["store_writes"], cost["store_touches"]) == (0, 0)
    assert cost["store_reads"] == READS


@pytest.mark.parametrize("store", STORES)
async def test_always_touches_on_every_read(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    cost = await reads_cost(start_node, client, redis_url, store, SESSION_TOUCH="always")
    assert (cost["store_writes"], cost["store_touches"]) == (0, READS)


@pytest.mark.parametrize("store", STORES)
async def test_save_always_writes_the_session_back_on_every_read(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    cost = await reads_cost(start_node, client, redis_url, store, SESSION_TOUCH="on-change", SESSION_SAVE="always")
    assert (cost["store_writes"], cost["store_touches"]) == (READS, 0)


async def test_save_always_reissues_the_cookie_on_every_answer(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("cookie", SESSION_SAVE="always", SESSION_TOUCH="on-change")
    browser = client()
    await login(browser, node)
    for _ in range(3):
        assert "Set-Cookie" in (await browser.get(f"{node}/me")).headers
    quiet = await start_node("cookie", SESSION_TOUCH="on-change")
    await login(browser, quiet)
    assert "Set-Cookie" not in (await browser.get(f"{quiet}/me")).headers


@pytest.mark.parametrize(("store", "interval"), [("memory", 0.3), ("redis", 0.3), ("replicated", 0.3), ("cookie", 1)])
async def test_a_lazy_touch_refreshes_at_most_once_per_interval(start_node, client, redis_url, store, interval):  # type: ignore[no-untyped-def]
    node = await start(start_node, store, redis_url, SESSION_TOUCH=f"lazy:{interval}", SESSION_MAX_AGE="60")
    browser = client()
    await login(browser, node)
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < 3.5 * interval:  # a user reading steadily, 20 times a second
        assert (await me(browser, node))[0] == 200
        await asyncio.sleep(0.05)
    counts = await stats(browser, node)
    # At most one refresh per interval (plus one: the cookie's timestamps are whole seconds), however many reads.
    assert 1 <= counts["store_touches"] <= elapsed / interval + 1
    assert counts["store_writes"] == 1  # the login: a touch is never a write


@pytest.mark.parametrize("store", ["memory", "redis", "cookie"])
async def test_on_change_lets_a_reading_user_expire_and_always_keeps_them(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    """The trade: with on-change, a user who only reads is logged out one TTL after their last change."""
    lifetime = 2 if store == "cookie" else 1  # Fernet timestamps are whole seconds
    kept = await start(start_node, store, redis_url, SESSION_TOUCH="always", SESSION_MAX_AGE=str(lifetime))
    dropped = await start(start_node, store, redis_url, SESSION_TOUCH="on-change", SESSION_MAX_AGE=str(lifetime))
    reader, other = client(), client()
    await login(reader, kept)
    await login(other, dropped)
    started, other_status = time.monotonic(), 200
    while time.monotonic() - started < 2.5 * lifetime:  # both keep reading, every 100 ms
        assert (await me(reader, kept))[0] == 200
        if other_status == 200:
            other_status = (await me(other, dropped))[0]
        await asyncio.sleep(0.1)
    assert other_status == 401
    gone = await stats(other, dropped)
    assert gone["sessions_expired" if store != "redis" else "sessions_not_found"] == 1
