"""The peer HTTP client: one pooled aiohttp session per node, signed requests, bounded waits, never an exception.

`post` and `get` return the peer's JSON answer or None (refused, unreachable, timed out, garbled); the caller
decides what a None means. `exchange` also says whether a failed request can have reached the peer: a refused
or reset connection means a dead peer (the write may go elsewhere), a timeout a hung one that may still apply it
(the write is not redone elsewhere).
"""

from __future__ import annotations

import enum
import json
import logging
from typing import Any

import aiohttp

from nodes.contract.names import REPLICATION_PREFIX
from nodes.contract.peer_signature import sign
from nodes.stores.replication.peers import Peer

log = logging.getLogger("nodes.stores.replication")


class Failure(enum.Enum):
    UNREACHABLE = "unreachable"  # the request never reached the peer
    NO_ANSWER = "no answer"  # sent, but no usable answer in time: the peer may have acted on it


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
        answer = await self.exchange(peer, "POST", name, body, within)
        return None if isinstance(answer, Failure) else answer

    async def get(self, peer: Peer, name: str, within: float | None = None) -> dict[str, Any] | None:
        answer = await self.exchange(peer, "GET", name, b"", within)
        return None if isinstance(answer, Failure) else answer

    async def exchange(
        self, peer: Peer, method: str, name: str, body: bytes, within: float | None = None
    ) -> dict[str, Any] | Failure:
        if self._session is None:
            return Failure.UNREACHABLE
        path = REPLICATION_PREFIX + name
        headers = {**sign(self._secret, method, path, body), "Content-Type": "application/json"}
        limit = aiohttp.ClientTimeout(total=within or self.timeout)
        try:
            async with self._session.request(method, peer.url + path, data=body, headers=headers, timeout=limit) as r:
                raw = await r.read()
                if r.status != 200:
                    if peer.failures < 3:  # a peer that refuses us (another secret?) says so a few times, not forever
                        log.warning("peer %s answered %d to %s %s", peer.url, r.status, method, path)
                    return Failure.NO_ANSWER
        except TimeoutError:
            return Failure.NO_ANSWER  # a hung peer: it may still act on the request when it wakes up
        except (aiohttp.ClientError, OSError):
            return (
                Failure.UNREACHABLE
            )  # refused or reset: a dead peer (see docs/replication.md on the one ambiguous case)
        try:
            answer = json.loads(raw)
        except ValueError:
            return Failure.NO_ANSWER
        return answer if isinstance(answer, dict) else Failure.NO_ANSWER
