"""`hash`: consistent hashing on the session id, so a session stays on one node without any balancer cookie.

The id is the node's session cookie or, for app clients, the session-token header, up to its first ROUTE_SEPARATOR:
a node with SESSION_ROUTE_TAG re-tags a reference (`<id>.<node id>`) when another node writes it, and the session
must not move because its tag changed. Adding or removing one of
N nodes moves only about 1/N of the sessions. Requests without a session id are routed at random. A draining
node leaves the ring as a down one does: exactly the sessions it owned move, the others stay where they are.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Self

from balancer.cookies import cookie_value
from balancer.routing.base import Route, RouteInput, RoutingPolicy, available, route_to
from balancer.routing.random import RandomPolicy
from balancer.upstreams import Membership, Upstream
from nodes.contract.names import HASH, ROUTE_SEPARATOR

if TYPE_CHECKING:
    from balancer.settings import BalancerSettings


def hash64(data: str) -> int:
    """A stable 64-bit hash (Python's hash() is salted per process, and the ring must survive restarts)."""
    return int.from_bytes(hashlib.blake2b(data.encode(), digest_size=8).digest(), "big")


class HashRing:
    """A consistent-hash ring of node names, each placed at `vnodes` points to even out the shares."""

    def __init__(self, names: Iterable[str], vnodes: int = 160) -> None:
        points = sorted((hash64(f"{name}#{index}"), name) for name in names for index in range(vnodes))
        if not points:
            raise ValueError("a hash ring needs at least one node")
        self._hashes = [point for point, _ in points]
        self._names = [name for _, name in points]
        self._owners: dict[str, str] = {}  # keys looked up lately (a ring never changes: rebuilt, not edited)

    def lookup(self, key: str) -> str:
        """The node owning `key`: the first point clockwise from the key's hash (remembered for up to 65,536 keys,
        as a session's requests all ask again)."""
        owner = self._owners.get(key)
        if owner is None:
            if len(self._owners) >= 65536:
                self._owners.clear()
            index = bisect.bisect(self._hashes, hash64(key))
            owner = self._owners[key] = self._names[index % len(self._names)]
        return owner


def session_key(reference: str) -> str:
    """The part of a session reference that names the session: a route tag after it names only a node."""
    return reference.partition(ROUTE_SEPARATOR)[0]


class HashPolicy(RoutingPolicy):
    """Session id → node on a ring built over the healthy nodes (rebuilt only when that set changes)."""

    name = HASH

    def __init__(self, session_cookie: str, vnodes: int = 160) -> None:
        self._session_cookie = session_cookie
        self._vnodes = vnodes
        self._fallback = RandomPolicy()
        self._rings: dict[tuple[Upstream, ...], tuple[HashRing, dict[str, Upstream]]] = {}
        self._last: tuple[tuple[Upstream, ...], tuple[HashRing, dict[str, Upstream]]] | None = None

    @classmethod
    def from_settings(cls, settings: BalancerSettings) -> Self:
        return cls(settings.session_cookie, settings.hash_vnodes)

    def choose(self, request: RouteInput, view: Membership) -> Route:
        session_id = cookie_value(request.cookie, self._session_cookie) or request.session_token
        if not session_id:
            return self._fallback.choose(request, view)
        return route_to(self.owner(session_key(session_id), view))

    def owner(self, key: str, view: Membership) -> Upstream:
        """The available node that owns `key` on the ring."""
        ring, by_url = self._ring(available(view))
        return by_url[ring.lookup(key)]

    def _ring(self, healthy: tuple[Upstream, ...]) -> tuple[HashRing, dict[str, Upstream]]:
        last = self._last
        if last is not None and last[0] is healthy:  # the same membership snapshot: no tuple to hash
            return last[1]
        cached = self._rings.get(healthy)
        if cached is None:
            if len(self._rings) >= 16:  # health flaps and membership changes: keep only recent sets
                self._rings.clear()
            cached = (HashRing((u.url for u in healthy), self._vnodes), {u.url: u for u in healthy})
            self._rings[healthy] = cached
        self._last = (healthy, cached)
        return cached
