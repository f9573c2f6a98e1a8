"""`GET /ws` (WebSocket) and `GET /events` (server-sent events): a session's long-lived connection to this node.

Both are authenticated by the session like every route. On open the node sends its id, the user and the session's
counter, then a tick every NODE_TICK_MS. A WebSocket client's `incr` is a `POST /counter` made for it
(`nodes.inner`): the same store and consistency path, answered with the counter actually stored. A session this
node does not see closes the WebSocket with 4401 (the event stream answers 401). `?sid=` names a transport id from
`GET /poll` (`nodes.polling`): unknown here, the upgrade is refused with socket.io's 400 "Session ID unknown".
A draining node (SIGTERM) closes its WebSockets with 1001 and ends its streams at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp_session import Session

from nodes.actions import current_session
from nodes.api import missing, needs_session
from nodes.contract.names import (
    EVENTS_PATH,
    INCR_MESSAGE,
    POLL_PATH,
    TRANSPORT_ID_PARAM,
    WS_GOING_AWAY,
    WS_PATH,
    WS_SESSION_MISSING,
)
from nodes.inner import InnerClient
from nodes.keys import IN_FLIGHT, NODE_ID, TICK_SECONDS, TRANSPORTS
from nodes.polling import poll_answer, sid_unknown

live_routes = web.RouteTableDef()
COUNTER_PATH = "/counter"


def hello(request: web.Request, session: Session) -> dict[str, Any]:
    return {"type": "hello", "node": request.app[NODE_ID], "user": session["user"], "counter": session["counter"]}


async def ticks(request: web.Request) -> AsyncIterator[int]:
    """Tick numbers every NODE_TICK_MS until the node drains."""
    seq = 0
    while not request.app[IN_FLIGHT].draining:
        await asyncio.sleep(request.app[TICK_SECONDS])
        seq += 1
        yield seq


@live_routes.get(WS_PATH)
async def websocket(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    transport_id = request.query.get(TRANSPORT_ID_PARAM)
    if transport_id is not None and (
        session is None or not request.app[TRANSPORTS].known(transport_id, session["user"])
    ):
        return sid_unknown(request.app[NODE_ID])
    ws = web.WebSocketResponse(compress=False)
    await ws.prepare(request)
    if session is None:
        await ws.close(code=WS_SESSION_MISSING, message=b"session missing")
        return ws
    await ws.send_json(hello(request, session))
    ticker = asyncio.ensure_future(_send_ticks(request, ws))
    try:
        await _serve_messages(request, ws)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    return ws


def _transport_known(request: web.Request, session: Session | None) -> bool:
    """No `?sid=`, or one that this node issued to this session's user."""
    transport_id = request.query.get(TRANSPORT_ID_PARAM)
    if transport_id is None:
        return True
    return session is not None and request.app[TRANSPORTS].known(transport_id, session["user"])


async def _send_ticks(request: web.Request, ws: web.WebSocketResponse) -> None:
    node = request.app[NODE_ID]
    with contextlib.suppress(ConnectionError):
        async for seq in ticks(request):
            await ws.send_json({"type": "tick", "node": node, "seq": seq})
        await ws.close(code=WS_GOING_AWAY, message=b"node shutting down")


async def _serve_messages(request: web.Request, ws: web.WebSocketResponse) -> None:
    """Answer each `incr` with the stored counter (or the error POST /counter gave); other messages are ignored."""
    inner, node = InnerClient(request), request.app[NODE_ID]
    async for message in ws:
        if message.type is not WSMsgType.TEXT or message.data != INCR_MESSAGE:
            continue
        status, body = await inner.post(COUNTER_PATH)
        if status == 401:
            await ws.close(code=WS_SESSION_MISSING, message=b"session missing")
        elif status == 200:
            await ws.send_json({"type": "counter", "node": node, "counter": body["counter"]})
        else:
            await ws.send_json({"type": "error", "node": node, "status": status, "error": body.get("error")})


@live_routes.get(EVENTS_PATH)
async def events(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is None:
        return missing(request)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    node = request.app[NODE_ID]
    with contextlib.suppress(ConnectionError):
        await response.write(event("hello", hello(request, session)))
        async for seq in ticks(request):
            await response.write(event("tick", {"type": "tick", "node": node, "seq": seq}, event_id=seq))
    return response


def event(name: str, data: dict[str, Any], event_id: int | None = None) -> bytes:
    """One server-sent event."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n".encode()


@live_routes.get(POLL_PATH)
@needs_session
async def poll(request: web.Request, session: Session) -> web.Response:
    transports = request.app[TRANSPORTS]
    return poll_answer(request.app[NODE_ID], transports, session, request.query.get(TRANSPORT_ID_PARAM))
