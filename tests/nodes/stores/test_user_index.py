"""POST /logout-all: what each store can revoke — all sessions (redis), this node's (memory), this client's (cookie)."""

from __future__ import annotations

import json
import time

import redis

from nodes.stores.redis import KEY_PREFIX, user_key
from tests.nodes.calls import app_login, login, me


async def test_redis_ends_every_session_of_the_user_everywhere(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    first, second = await start_node("redis", REDIS_URL=redis_url), await start_node("redis", REDIS_URL=redis_url)
    laptop, phone, other_user = client(), client(cookies=False), client()
    await login(laptop, first)
    token = await app_login(phone, second)
    await login(other_user, first, user="bob")
    response = await laptop.post(f"{second}/logout-all")
    assert await response.json() == {"node": "node-2", "user": "ann", "sessions_ended": 2, "scope": "all"}
    assert (await me(laptop, first))[0] == 401
    assert (await me(phone, first, headers={"X-Session-Token": token}))[0] == 401
    assert (await me(other_user, second))[0] == 200
    store = redis.Redis.from_url(redis_url)
    assert store.exists(user_key("ann")) == 0
    store.close()


async def test_memory_ends_only_this_nodes_sessions(start_node, client):  # type: ignore[no-untyped-def]
    first, second = await start_node("memory"), await start_node("memory")
    here, elsewhere, also_here = client(), client(), client()
    await login(here, first)
    await login(also_here, first)
    await login(elsewhere, second)
    response = await here.post(f"{first}/logout-all")
    assert await response.json() == {"node": "node-1", "user": "ann", "sessions_ended": 2, "scope": "this node"}
    assert (await me(also_here, first))[0] == 401
    assert (await me(elsewhere, second))[0] == 200  # out of reach: it lives in the other node's memory


async def test_cookie_sessions_cannot_be_revoked(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("cookie")
    laptop, phone = client(), client()
    await login(laptop, node)
    await login(phone, node)
    response = await laptop.post(f"{node}/logout-all")
    assert (await response.json())["scope"] == "this client"
    assert (await me(laptop, node))[0] == 401
    assert (await me(phone, node))[0] == 200  # valid until it expires: the client holds it


async def test_a_read_only_session_keeps_the_user_index_alive(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_url, SESSION_MAX_AGE="100")
    browser = client()
    await login(browser, node)
    store = redis.Redis.from_url(redis_url)
    key = store.keys(KEY_PREFIX + "*")[0]
    version, _, body = store.get(key).partition(b":")
    stored = json.loads(body)
    stored["indexed"] = int(time.time()) - 60  # as if the index was last refreshed 60 s ago...
    store.set(key, version + b":" + json.dumps(stored).encode(), ex=100)
    store.delete(user_key("ann"))  # ...and has expired since
    assert (await me(browser, node))[0] == 200  # a plain read re-indexes the session
    assert store.sismember(user_key("ann"), key.decode().removeprefix(KEY_PREFIX))
    assert 190 <= store.ttl(user_key("ann")) <= 200
    store.close()
    assert (await (await browser.post(f"{node}/logout-all")).json())["sessions_ended"] == 1
