"""Who the peers are, which of them are live, and which nodes own a session.

SESSION_PEERS holds the same base URLs the balancer uses: static `http://host:port` entries and `dns://name:port`
entries, re-resolved with the event loop's getaddrinfo on every refresh. One list serves every node: a node leaves
itself out, by its own host and port and by the node id a peer answers with (a node that pings itself learns it).

Ownership is rendezvous (highest-random-weight) hashing over the node ids of the live members, this node
included: every node that sees the same members computes the same order for a session, the first is its
primary and the second its backup, and when the primary leaves, the backup is first in line.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from nodes.contract.names import DNS_SCHEME

log = logging.getLogger("nodes.stores.replication")

DNS = DNS_SCHEME.removesuffix("://")  # urlsplit's scheme of a dns:// entry, as the balancer reads them


def parse_peer(spec: str) -> tuple[str, str, int]:
    """(scheme, host, port) of one SESSION_PEERS entry; ValueError with the reason when it is not one."""
    parts = urlsplit(spec if "://" in spec else "http://" + spec)
    if parts.scheme not in ("http", DNS) or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{spec!r} is not http://host:port or dns://name:port")
    try:
        port = parts.port or (80 if parts.scheme == "http" else None)
    except ValueError:
        raise ValueError(f"{spec!r} has a bad port") from None
    if port is None:
        raise ValueError(f"{spec!r} needs a port")
    return parts.scheme, parts.hostname, port


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def rank(session_id: str, members: Iterable[str]) -> list[str]:
    """Members in rendezvous-hash order for `session_id`: [primary, backup, ...]."""
    return sorted(members, key=lambda member: _weight(member, session_id), reverse=True)


def _weight(member: str, session_id: str) -> bytes:
    return hashlib.blake2b(f"{member}\0{session_id}".encode(), digest_size=8).digest()


@dataclass(eq=False)
class Peer:
    """One peer URL and what this node has learned about it."""

    url: str
    node_id: str | None = None
    live: bool = False
    ready: bool = False
    last_seen: float = 0.0
    failures: int = 0
    missed_beats: int = 0


class Membership:
    """The peers from SESSION_PEERS (DNS re-resolved), minus this node, with their liveness."""

    def __init__(self, specs: Iterable[str], node_id: str, host: str, port: int) -> None:
        self.node_id = node_id
        self._specs = [parse_peer(spec) for spec in specs]
        self._own = {(host, port), ("localhost" if host == "127.0.0.1" else host, port)}
        self._peers: dict[str, Peer] = {}
        self._self_urls: set[str] = set()
        self._resolved: dict[str, list[str]] = {}
        self.view = 0  # counts changes of the live members: a copy confirmed in an older view may be stale

    def peers(self) -> list[Peer]:
        return [peer for url, peer in self._peers.items() if url not in self._self_urls]

    def live(self) -> list[Peer]:
        return [peer for peer in self.peers() if peer.live and peer.node_id is not None]

    def members(self) -> list[str]:
        """Node ids of the live members, this node included: what ownership is computed over."""
        return sorted({self.node_id, *(peer.node_id for peer in self.live() if peer.node_id)})

    def by_id(self, node_id: str) -> Peer | None:
        return next((peer for peer in self.live() if peer.node_id == node_id), None)

    async def refresh(self) -> None:
        """Re-resolve DNS entries; a peer keeps its state while its address stays in the list."""
        urls: list[str] = []
        for scheme, host, port in self._specs:
            if (host, port) in self._own:
                continue
            urls.extend(await self._addresses(host, port) if scheme == DNS else [base_url(host, port)])
        for url in urls:
            self._peers.setdefault(url, Peer(url))
        for url in [url for url in self._peers if url not in urls]:
            log.info("peer %s left the peer list", url)
            self.view += self._peers.pop(url).live

    async def _addresses(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            log.warning("cannot resolve peer name %s: %s", host, exc)
            return self._resolved.get(host, [])  # keep the last answer through a resolver hiccup
        addresses = sorted({base_url(str(info[4][0]), port) for info in infos})
        self._resolved[host] = addresses
        return addresses

    def answered(self, peer: Peer, node_id: str, ready: bool) -> bool:
        """Record a peer's answer; True when it just became live (it then needs a re-sync)."""
        if node_id == self.node_id:
            self._self_urls.add(peer.url)
            return False
        came_back = not peer.live or peer.node_id != node_id
        self.view += came_back
        peer.node_id, peer.live, peer.ready = node_id, True, ready
        peer.last_seen, peer.failures = time.monotonic(), 0
        if came_back:
            log.info("peer %s (%s) is live", node_id, peer.url)
        return came_back

    def failed(self, peer: Peer, reason: str) -> bool:
        """Record a failed exchange; True when the peer was live until now (it is left out from here on)."""
        peer.failures += 1
        if not peer.live:
            return False
        peer.live = False
        self.view += 1
        log.warning("peer %s (%s) left out: %s", peer.node_id, peer.url, reason)
        return True
