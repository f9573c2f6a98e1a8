"""The polling half of a polling-then-upgrade handshake (socket.io, SockJS, Engine.IO): `GET /poll` issues a
transport id that only this node's memory holds, and a WebSocket upgrade that brings it back must reach this node.

Only routing can send it there: a shared session store shares sessions, never this node's transports.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict

from aiohttp import web
from aiohttp_session import Session

from nodes.contract.names import SID_UNKNOWN

TRANSPORT_TTL = 60.0  # seconds an issued transport id waits for its upgrade (socket.io's pingTimeout is 20 s)
MAX_TRANSPORTS = 100_000


class Transports:
    """Transport ids issued here, each bound to the user whose session asked for it; bounded in number and age."""

    def __init__(self, ttl: float = TRANSPORT_TTL, limit: int = MAX_TRANSPORTS) -> None:
        self._ttl, self._limit = ttl, limit
        self._issued: OrderedDict[str, tuple[str, float]] = OrderedDict()  # id -> (user, expiry), oldest first

    def issue(self, user: str) -> str:
        self._expire()
        while len(self._issued) >= self._limit:
            self._issued.popitem(last=False)
        transport_id = secrets.token_urlsafe(15)
        self._issued[transport_id] = (user, time.monotonic() + self._ttl)
        return transport_id

    def known(self, transport_id: str, user: str) -> bool:
        """Whether this node issued `transport_id` to `user` and it has not expired."""
        self._expire()
        entry = self._issued.get(transport_id)
        return entry is not None and entry[0] == user

    def _expire(self) -> None:
        now = time.monotonic()
        while self._issued and next(iter(self._issued.values()))[1] < now:
            self._issued.popitem(last=False)


def sid_unknown(node_id: str) -> web.Response:
    """socket.io's answer to a transport id this node never issued: 400 `{"code": 1, "message": ...}`."""
    return web.json_response({"code": 1, "message": SID_UNKNOWN, "node": node_id}, status=400)


def poll_answer(node_id: str, transports: Transports, session: Session, transport_id: str | None) -> web.Response:
    """A new transport id, or the one asked about when this node knows it."""
    user = session["user"]
    if transport_id is None:
        return web.json_response({"node": node_id, "sid": transports.issue(user), "upgrades": ["websocket"]})
    if not transports.known(transport_id, user):
        return sid_unknown(node_id)
    return web.json_response({"node": node_id, "sid": transport_id, "messages": []})
