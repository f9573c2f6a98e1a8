"""GET /ws, GET /events and GET /poll on a node: authenticated by the session, hello then ticks, `incr` through the
same store and consistency path as POST /counter, 4401/401 for a session the node does not see."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from nodes.contract.names import STORES, TOKEN_HEADER, WS_SESSION_MISSING
from tests.nodes.calls import app_login, login, me

TICK = {"NODE_TICK_MS": "50"}


@pytest.fixture(params=STORES)
async def node(request, start_node, redis_url):  # type: ignore[no-untyped-def]
    return await start_node(request.param, REDIS_URL=redis_url, **TICK)


async def receive(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict:  # type: ignore[type-arg]
    """The next message of `kind` (ticks in between are skipped)."""
    while True:
        message = await ws.receive_json(timeout=5)
        if message["type"] == kind:
            return message  # type: ignore[no-any-return]


async def test_a_websocket_says_hello_ticks_and_increments(node, client) -> None:  # type: ignore[no-untyped-def]
    browser = client()
    await login(browser, node)
    await browser.post(f"{node}/counter")
    async with browser.ws_connect(f"{node}/ws") as ws:
        assert await ws.receive_json(timeout=5) == {"type": "hello", "node": "node-1", "user": "ann", "counter": 1}
        first, second = await receive(ws, "tick"), await receive(ws, "tick")
        assert (first["node"], second["seq"] - first["seq"]) == ("node-1", 1)
        for expected in (2, 3):
            await ws.send_str("incr")
            assert await receive(ws, "counter") == {"type": "counter", "node": "node-1", "counter": expected}


async def test_websocket_increments_are_stored_like_post_counter(start_node, client, redis_url) -> None:  # type: ignore[no-untyped-def]
    """Server-side stores: concurrent `incr`s and POST /counter all count (the cas path merges them)."""
    for store in ("memory", "redis"):
        node = await start_node(store, REDIS_URL=redis_url, **TICK)
        browser = client()
        await login(browser, node)
        async with browser.ws_connect(f"{node}/ws") as ws:
            await receive(ws, "hello")
            for _ in range(10):
                await ws.send_str("incr")
            posts = [browser.post(f"{node}/counter") for _ in range(10)]
            statuses = [response.status for response in await asyncio.gather(*posts)]
            counters = sorted([(await receive(ws, "counter"))["counter"] for _ in range(10)])
        assert statuses == [200] * 10 and len(set(counters)) == 10
        assert (await me(browser, node))[1]["counter"] == 20, store


async def test_the_cookie_store_keeps_a_websocket_s_increments_in_that_connection(start_node, client) -> None:  # type: ignore[no-untyped-def]
    """The cookie store holds the session in the client's cookie, which a WebSocket cannot update: its increments
    count within the connection, and the cookie keeps the value from before it."""
    node = await start_node("cookie", **TICK)
    browser = client()
    await login(browser, node)
    async with browser.ws_connect(f"{node}/ws") as ws:
        await receive(ws, "hello")
        for expected in (1, 2, 3):
            await ws.send_str("incr")
            assert (await receive(ws, "counter"))["counter"] == expected
    assert (await me(browser, node))[1]["counter"] == 0


async def test_an_app_client_authenticates_with_its_token(node, client) -> None:  # type: ignore[no-untyped-def]
    app = client(cookies=False)
    token = await app_login(app, node)
    async with app.ws_connect(f"{node}/ws", headers={TOKEN_HEADER: token}) as ws:
        assert (await receive(ws, "hello"))["user"] == "ann"
        await ws.send_str("incr")
        assert (await receive(ws, "counter"))["counter"] == 1


async def test_no_session_closes_the_websocket_with_4401_and_the_stream_with_401(node, client) -> None:  # type: ignore[no-untyped-def]
    stranger = client()
    async with stranger.ws_connect(f"{node}/ws") as ws:
        message = await ws.receive(timeout=5)
        assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, WS_SESSION_MISSING)
    async with stranger.get(f"{node}/events") as response:
        assert response.status == 401
        assert await response.json() == {"node": "node-1", "session": "missing"}


async def test_events_stream_hello_then_ticks(node, client) -> None:  # type: ignore[no-untyped-def]
    browser = client()
    await login(browser, node)
    async with browser.get(f"{node}/events") as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        hello = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        assert hello.startswith(b"event: hello\ndata: ")
        assert json.loads(hello.split(b"data: ")[1])["counter"] == 0
        tick = await asyncio.wait_for(response.content.readuntil(b"\n\n"), 5)
        assert tick.startswith(b"id: 1\nevent: tick\n")


async def test_a_transport_id_from_poll_opens_a_websocket_only_where_it_was_issued(start_node, client) -> None:  # type: ignore[no-untyped-def]
    issuer, other = await start_node("cookie", **TICK), await start_node("cookie", **TICK)  # one shared session
    browser = client()
    await login(browser, issuer)
    sid = (await (await browser.get(f"{issuer}/poll")).json())["sid"]
    assert (await (await browser.get(f"{issuer}/poll", params={"sid": sid})).json())["sid"] == sid
    async with browser.ws_connect(f"{issuer}/ws", params={"sid": sid}) as ws:
        assert (await receive(ws, "hello"))["node"] == "node-1"
    unknown = await browser.get(f"{other}/poll", params={"sid": sid})  # the session is found there, the sid is not
    assert unknown.status == 400
    assert await unknown.json() == {"code": 1, "message": "Session ID unknown", "node": "node-2"}
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await browser.ws_connect(f"{other}/ws", params={"sid": sid})
    assert refused.value.status == 400
