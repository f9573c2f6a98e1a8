"""Concurrent writes to one session: compare-and-set merges them, last-write-wins loses some, a node queues its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient

from nodes.actions import current_session
from nodes.app import create_app
from nodes.changes import MAX_CART_LINES, Change, SessionReply, add_to_cart, apply, increment_counter
from nodes.contract.envconfig import SettingsError
from nodes.contract.names import TOKEN_HEADER
from nodes.keys import CONFLICTS, NODE_ID, STORE
from nodes.settings import NodeSettings
from nodes.stores.encoding import decode_versioned, encode_versioned
from nodes.stores.server_side import ServerSideStore
from nodes.stores.versions import VersionedSession
from tests.nodes.calls import app_login, me

CONCURRENT = 100


async def increment_concurrently(app, nodes: list[str], token: str) -> list[int]:  # type: ignore[no-untyped-def]
    async def one(index: int) -> int:
        response = await app.post(f"{nodes[index % len(nodes)]}/counter", headers={"X-Session-Token": token})
        assert response.status == 200, await response.text()
        return int((await response.json())["counter"])

    return list(await asyncio.gather(*(one(index) for index in range(CONCURRENT))))


async def test_cas_keeps_every_concurrent_increment(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    nodes = [await start_node("redis", REDIS_URL=redis_url) for _ in range(3)]
    app = client(cookies=False)
    token = await app_login(app, nodes[0])
    answers = await increment_concurrently(app, nodes, token)
    assert (await me(app, nodes[1], headers={"X-Session-Token": token}))[1]["counter"] == CONCURRENT
    assert sorted(answers) == list(range(1, CONCURRENT + 1))  # each answer shows the value actually stored


async def test_last_write_wins_loses_concurrent_increments(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    consistency = {"REDIS_URL": redis_url, "SESSION_CONSISTENCY": "last_write_wins"}
    nodes = [await start_node("redis", **consistency) for _ in range(3)]
    app = client(cookies=False)
    token = await app_login(app, nodes[0])
    await increment_concurrently(app, nodes, token)
    final = (await me(app, nodes[0], headers={"X-Session-Token": token}))[1]["counter"]
    # This is the failure the cas mode exists for: every request answered 200, yet increments were lost.
    assert final < CONCURRENT, f"last_write_wins kept all {CONCURRENT} increments; expected some to be lost"


async def test_a_session_ended_meanwhile_is_not_resurrected(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    node = await start_node("redis", REDIS_URL=redis_url)
    app = client(cookies=False)
    token = await app_login(app, node)
    headers = {"X-Session-Token": token}
    increments = [app.post(f"{node}/counter", headers=headers) for _ in range(20)]
    results = await asyncio.gather(*increments, app.post(f"{node}/logout", headers=headers))
    assert {response.status for response in results[:-1]} <= {200, 401}
    assert (await me(app, node, headers=headers))[0] == 401


def test_cas_is_refused_for_the_cookie_store() -> None:
    with pytest.raises(SettingsError, match="SESSION_CONSISTENCY='cas' is invalid with SESSION_STORE='cookie'"):
        NodeSettings.from_env({"SESSION_STORE": "cookie", "SESSION_CONSISTENCY": "cas"})
    assert NodeSettings.from_env({"SESSION_STORE": "redis"}).consistency == "cas"
    assert NodeSettings.from_env({"SESSION_STORE": "cookie"}).consistency == "last_write_wins"


@dataclass
class Burst:
    """CONCURRENT increments at once on one session of one in-process node, and what Redis saw meanwhile."""

    app: web.Application
    node: str
    browser: aiohttp.ClientSession
    token: str
    answers: list[int]
    calls: dict[str, int]  # Redis commands run during the burst, by name ("getex", "evalsha", ...)


async def burst_on_one_node(aiohttp_server, client, redis_url: str, store: str = "redis") -> Burst:  # type: ignore[no-untyped-def]
    app = create_app(NodeSettings.from_env({"SESSION_STORE": store, "REDIS_URL": redis_url}))
    node = str((await aiohttp_server(app)).make_url("")).rstrip("/")
    browser = client(cookies=False)
    token = await app_login(browser, node)
    with redis.Redis.from_url(redis_url) as admin:
        admin.config_resetstat()
        answers = await increment_concurrently(browser, [node], token)
        stats = admin.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(figures["calls"]) for name, figures in stats.items()}
    return Burst(app, node, browser, token, answers, calls)


async def test_same_node_writes_queue_instead_of_racing(aiohttp_server, client, redis_url):  # type: ignore[no-untyped-def]
    """One node, a burst of writes on one session: no compare-and-set race is lost, so none is retried.

    And the queue hands each write the copy the one before it saved: far fewer reads (GETEX) than writes reach
    Redis (without the hand-off: one per write).
    """
    burst = await burst_on_one_node(aiohttp_server, client, redis_url)
    reads = burst.calls.get("getex", 0)
    assert sorted(burst.answers) == list(range(1, CONCURRENT + 1))
    assert burst.app[CONFLICTS].value == 0
    assert reads < CONCURRENT / 2, f"{reads} reads for {CONCURRENT} queued writes"


RaceMove = Callable[[ServerSideStore, str], Awaitable[None]]


async def race_app(aiohttp_client, change: Change, competitor: RaceMove) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    """A node with a POST /race that applies `change`, then lets `competitor` write the session before it saves."""
    app = create_app(NodeSettings.from_env({"SESSION_STORE": "memory"}))

    async def race(request: web.Request) -> web.Response:
        session = await current_session(request)
        assert session is not None and session.identity is not None
        apply(request, session, change)
        await competitor(app[STORE], str(session.identity))  # type: ignore[arg-type]  # another node saves first
        return SessionReply(app[NODE_ID], lambda s: {"counter": s["counter"], "cart": len(s["cart"])}, session)

    app.router.add_post("/race", race)
    client = await aiohttp_client(app)
    response = await client.post("/login", json={"user": "ann"}, headers={TOKEN_HEADER: "new"})
    return client, response.headers[TOKEN_HEADER]


def rewrite(field: str, value: object) -> RaceMove:
    async def move(store: ServerSideStore, session_id: str) -> None:
        version, data = decode_versioned(await store.read(session_id)) or (0, {})
        session = VersionedSession(session_id, {**data, "session": {**data["session"], field: value}}, version)
        await store.write(session_id, encode_versioned(version + 1, session))

    return move


async def test_a_stale_save_re_applies_the_change_and_answers_what_was_stored(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    client, token = await race_app(aiohttp_client, increment_counter, rewrite("counter", 10))
    response = await client.post("/race", headers={TOKEN_HEADER: token})
    assert (await response.json())["counter"] == 11  # the competitor's 10, plus this request's increment
    assert (await (await client.get("/me", headers={TOKEN_HEADER: token})).json())["counter"] == 11
    assert client.app[CONFLICTS].value == 1


async def test_a_session_ended_by_the_competitor_is_not_resurrected(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    async def log_out(store: ServerSideStore, session_id: str) -> None:
        await store.delete(session_id)

    client, token = await race_app(aiohttp_client, increment_counter, log_out)
    response = await client.post("/race", headers={TOKEN_HEADER: token})
    assert (response.status, await response.json()) == (401, {"node": "node-8081", "session": "missing"})
    assert (await client.get("/me", headers={TOKEN_HEADER: token})).status == 401


async def test_a_change_that_no_longer_applies_is_a_409(aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    full = [{"sku": f"sku-{index}", "qty": 1} for index in range(MAX_CART_LINES)]
    client, token = await race_app(aiohttp_client, add_to_cart("tea", 1), rewrite("cart", full))
    response = await client.post("/race", headers={TOKEN_HEADER: token})
    assert response.status == 409
    assert (await response.json())["detail"] == f"the cart is full ({MAX_CART_LINES} lines)"
    assert (await (await client.get("/cart", headers={TOKEN_HEADER: token})).json())["cart"] == full
