"""A rolling deploy between session schemas (SESSION_SCHEMA=1|2, SESSION_SCHEMA_COMPAT=migrate|reject), on real
nodes sharing a real Redis (and sharing a cookie key): migrate logs nobody out, reject logs out each user once,
and a schema-1 node never answers a 500 to a schema-2 session."""

from __future__ import annotations

import json

import redis
from cryptography.fernet import Fernet

from nodes.stores.redis import KEY_PREFIX
from tests.nodes.calls import cookie_of, login, me
from tests.nodes.test_session_stats import stats

USERS = 4


def stored(redis_url: str, browser) -> dict:  # type: ignore[no-untyped-def,type-arg]
    client = redis.Redis.from_url(redis_url)
    try:
        raw = client.get(KEY_PREFIX + cookie_of(browser))
    finally:
        client.close()
    assert raw is not None
    return json.loads(raw.partition(b":")[2])  # type: ignore[no-any-return]


async def logged_in_on(node: str, client) -> list:  # type: ignore[no-untyped-def,type-arg]
    browsers = [client() for _ in range(USERS)]
    for number, browser in enumerate(browsers):
        await login(browser, node, user=f"user-{number}")
    return browsers


async def test_migrate_reads_schema_1_sessions_and_writes_them_back_as_2(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    old = await start_node("redis", REDIS_URL=redis_url, SESSION_SCHEMA="1")
    new = await start_node("redis", REDIS_URL=redis_url, SESSION_SCHEMA="2", SESSION_SCHEMA_COMPAT="migrate")
    browsers = await logged_in_on(old, client)
    assert "schema" not in stored(redis_url, browsers[0]) and "user" in stored(redis_url, browsers[0])["session"]
    for number, browser in enumerate(browsers):
        status, body = await me(browser, new)
        assert (status, body["user"]) == (200, f"user-{number}")  # nobody logs in again
    form = stored(redis_url, browsers[0])
    assert form["schema"] == 2 and form["session"]["user_id"] == "user-0" and "user" not in form["session"]
    for browser in browsers:  # migrated once: now plain schema-2 reads
        assert (await me(browser, new))[0] == 200
    counts = await stats(browsers[0], new)
    assert (counts["schema_migrated"], counts["schema_rejected"]) == (USERS, 0)


async def test_reject_forces_one_login_per_migrated_user(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    old = await start_node("redis", REDIS_URL=redis_url, SESSION_SCHEMA="1")
    new = await start_node("redis", REDIS_URL=redis_url, SESSION_SCHEMA="2", SESSION_SCHEMA_COMPAT="reject")
    browsers = await logged_in_on(old, client)
    relogins = 0
    for number, browser in enumerate(browsers):
        for _ in range(3):  # the user keeps using the new node: one forced login, then their session works
            if (await me(browser, new))[0] == 401:
                relogins += 1
                await login(browser, new, user=f"user-{number}")
    assert relogins == USERS
    assert (await stats(browsers[0], new))["schema_rejected"] == USERS


async def test_a_schema_1_node_starts_a_new_session_for_a_schema_2_one_never_a_500(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    new = await start_node("redis", REDIS_URL=redis_url, SESSION_SCHEMA="2")
    rolled_back = await start_node("redis", REDIS_URL=redis_url, SESSION_SCHEMA="1")
    browsers = await logged_in_on(new, client)
    for browser in browsers:
        assert (await me(browser, rolled_back))[0] == 401
        assert (await browser.post(f"{rolled_back}/counter")).status == 401
    assert (await stats(browsers[0], rolled_back))["schema_unreadable"] == 2 * USERS
    assert (await me(browsers[0], new))[0] == 200  # still the new node's session: nothing was overwritten


async def test_cookie_sessions_migrate_in_the_reissued_cookie(start_node, client, secret):  # type: ignore[no-untyped-def]
    old = await start_node("cookie", SESSION_SCHEMA="1")
    new = await start_node("cookie", SESSION_SCHEMA="2")
    browser = client()
    await login(browser, old)
    assert (await me(browser, new))[0] == 200
    form = json.loads(Fernet(secret.encode()).decrypt(cookie_of(browser).encode()))
    assert form["schema"] == 2 and form["session"]["user_id"] == "ann"
    assert (await me(browser, old))[0] == 401  # rolling back now: unreadable, a new session, no error
    counts_new, counts_old = await stats(browser, new), await stats(browser, old)
    assert (counts_new["schema_migrated"], counts_old["schema_unreadable"]) == (1, 1)
