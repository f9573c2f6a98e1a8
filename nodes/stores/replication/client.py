"""The peer HTTP client: one pooled aiohttp session per node, signed requests, bounded waits, never an exception.

Every call returns the peer's JSON answer or None (refused, unreachable, timed out, garbled); the caller decides
what a None means. Failures are logged once per peer state change by the membership, not here.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

from nodes.contract.names import REPLICATION_PREFIX
from nodes.stores.replication.peers import Peer
from nodes.stores.replication.wire import sign

log = logging.getLogger("nodes.stores.replication")


class PeerClient:
    """Sends signed replication requests; `timeout` bounds each one end to end."""

    def __init__(self, secret: bytes, timeout: float) -> None:
        self._secret = secret
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=64, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(self, peer: Peer, name: str, body: bytes, within: float | None = None) -> dict[str, Any] | None:
        return await self._call(peer, "POST", REPLICATION_PREFIX + name, body, within)

    async def get(self, peer: Peer, name: str, within: float | None = None) -> dict[str, Any] | None:
        return await self._call(peer, "GET", REPLICATION_PREFIX + name, b"", within)

    async def _call(
        self, peer: Peer, method: str, path: str, body: bytes, within: float | None
    ) -> dict[str, Any] | None:
        if self._session is None:
            return None
        headers = {**sign(self._secret, method, path, body), "Content-Type": "application/json"}
        limit = aiohttp.ClientTimeout(total=within or self.timeout)
        try:
            async with self._session.request(method, peer.url + path, data=body, headers=headers, timeout=limit) as r:
                raw = await r.read()
                if r.status != 200:
                    log.warning("peer %s answered %d to %s %s", peer.url, r.status, method, path)
                    return None
        except (TimeoutError, aiohttp.ClientError, OSError):
            return None
        try:
            answer = json.loads(raw)
        except ValueError:
            return None
        return answer if isinstance(answer, dict) else None
