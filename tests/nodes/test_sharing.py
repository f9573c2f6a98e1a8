"""Whether two nodes see each other's sessions depends only on the store (and, for cookies, the secret)."""

from __future__ import annotations

from cryptography.fernet import Fernet

from tests.nodes.calls import app_login, login, me


async def test_two_redis_nodes_share_sessions(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    first, second = await start_node("redis", REDIS_URL=redis_url), await start_node("redis", REDIS_URL=redis_url)
    browser = client()
    await login(browser, first)
    await browser.post(f"{first}/counter")
    assert await me(browser, second) == (200, {"node": "node-2", "user": "ann", "counter": 1, "session": "found"})


async def test_two_memory_nodes_do_not_share_sessions(start_node, client):  # type: ignore[no-untyped-def]
    first, second = await start_node("memory"), await start_node("memory")
    browser = client()
    await login(browser, first)
    assert await me(browser, second) == (401, {"node": "node-2", "session": "missing"})
    assert (await me(browser, first))[0] == 200


async def test_cookie_nodes_share_sessions_only_with_the_same_secret(start_node, client):  # type: ignore[no-untyped-def]
    first, twin = await start_node("cookie"), await start_node("cookie")
    stranger = await start_node("cookie", SESSION_SECRET=Fernet.generate_key().decode())
    browser = client()
    await login(browser, first)
    assert (await me(browser, twin))[0] == 200
    assert (await me(browser, stranger))[0] == 401


async def test_header_tokens_are_shared_like_cookies(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    first, second = await start_node("redis", REDIS_URL=redis_url), await start_node("redis", REDIS_URL=redis_url)
    app = client(cookies=False)
    token = await app_login(app, first)
    assert (await me(app, second, headers={"X-Session-Token": token}))[0] == 200
