"""The upstream set: which nodes exist, which are healthy or draining, and what each has done.

Membership is dynamic: discovery sets the configured and resolved nodes (`set_urls`), the runtime API adds,
removes and drains nodes, all while requests are in flight. Routing reads an immutable `Membership` snapshot that
is rebuilt only when membership, health or a drain changes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

log = logging.getLogger("balancer.upstreams")

READY, DRAINING, DOWN = "ready", "draining", "down"


@dataclass(eq=False, slots=True)
class Upstream:
    """One node: where it is, whether routing may pick it, and the counters that status and metrics report.

    The counters are written only by the methods below, which the data path calls at each step of an exchange.
    """

    url: str  # origin, e.g. "http://127.0.0.1:8081": the node's stable identity (hash ring, affinity cookie)
    healthy: bool = True  # optimistic at start: passive ejection and the first check correct it at once
    draining: bool = False  # no new clients; clients pinned to it stay (see routing)
    node_id: str | None = None  # the X-Node-Id its health-check answers carry (route routing)
    in_flight: int = 0
    served: int = 0  # responses received from the node, any status
    served_draining: int = 0  # of which while it was draining
    failures: int = 0  # proxied requests that failed: connection refused or reset, disconnect, timeout
    tunnels: int = 0  # open tunnels (upgraded connections: WebSocket and others)
    draining_since: float | None = None  # time.monotonic() when the drain began

    @property
    def state(self) -> str:
        """`down` (failed health), `draining` (no new clients) or `ready`."""
        if not self.healthy:
            return DOWN
        return DRAINING if self.draining else READY

    def request_started(self) -> None:
        self.in_flight += 1

    def request_ended(self) -> None:
        self.in_flight -= 1

    def answered(self) -> None:
        self.served += 1
        if self.draining:
            self.served_draining += 1

    def failed(self) -> None:
        self.failures += 1

    def switched_protocols(self) -> None:
        """A 101: the request is answered and over; its tunnel is counted apart."""
        self.answered()
        self.request_ended()

    def tunnel_started(self) -> None:
        self.tunnels += 1

    def tunnel_ended(self) -> None:
        self.tunnels -= 1


@dataclass(frozen=True, slots=True)
class Membership:
    """An immutable view of the upstream set for one routing decision."""

    members: tuple[Upstream, ...]
    available: tuple[Upstream, ...]  # healthy and ready: may take new clients
    serving: tuple[Upstream, ...]  # healthy, draining ones included: may serve clients pinned to them
    routes: Mapping[str, Upstream]  # node id -> available upstream, for the ids its health checks reported

    def without(self, upstream: Upstream) -> Membership:
        """The same view minus one upstream (used to retry a failed request on another node)."""
        return Membership(
            self.members,
            tuple(u for u in self.available if u is not upstream),
            tuple(u for u in self.serving if u is not upstream),
            {node_id: u for node_id, u in self.routes.items() if u is not upstream},
        )


class UpstreamRegistry:
    """The dynamic set of upstreams with their health and drain state; the single writer of both."""

    def __init__(self, urls: Iterable[str]) -> None:
        self._members: dict[str, Upstream] = {}
        self._configured: list[str] = []  # the last `set_urls` (static and discovered nodes)
        self._added: list[str] = []  # added through the runtime API
        self._removed: set[str] = set()  # configured nodes removed through the runtime API
        self._view = Membership((), (), (), {})
        self.set_urls(urls)

    @property
    def view(self) -> Membership:
        return self._view

    @property
    def members(self) -> tuple[Upstream, ...]:
        return self._view.members

    def get(self, url: str) -> Upstream | None:
        return self._members.get(url)

    def set_urls(self, urls: Iterable[str]) -> None:
        """The configured membership (static plus discovered nodes), beside the runtime API's additions: new nodes
        join healthy, kept nodes keep their state, missing ones leave. A configured node the runtime API removed
        stays out until `urls` stops listing it."""
        configured = list(dict.fromkeys(urls))
        self._removed.intersection_update(configured)
        self._configured = configured
        self._apply()

    def add(self, url: str) -> Upstream:
        """A node from the runtime API: it joins down and takes traffic after its first passing check."""
        self._removed.discard(url)
        if url not in self._configured and url not in self._added:
            self._added.append(url)
        if url not in self._members:
            log.info("upstream %s added through the runtime API; it takes traffic once a check passes", url)
            self._members[url] = Upstream(url, healthy=False)
        self._apply()
        return self._members[url]

    def remove(self, upstream: Upstream) -> None:
        """Take a node out (runtime API); requests in flight on it finish."""
        if upstream.url in self._added:
            self._added.remove(upstream.url)
        else:
            self._removed.add(upstream.url)
        self._apply()

    def set_draining(self, upstream: Upstream, draining: bool) -> None:
        if upstream.draining != draining:
            upstream.draining = draining
            upstream.draining_since = time.monotonic() if draining else None
            log.info("upstream %s is %s", upstream.url, "draining" if draining else "ready again")
            self._rebuild()

    def mark_down(self, upstream: Upstream, reason: str) -> None:
        """Eject a node from routing (failed health check or connection failure)."""
        if upstream.healthy:
            upstream.healthy = False
            log.warning("upstream %s is down: %s", upstream.url, reason)
            self._rebuild()

    def mark_up(self, upstream: Upstream, node_id: str | None = None) -> None:
        """Re-admit a node after a passing health check, which also says its node id (X-Node-Id), if it sent one."""
        if upstream.healthy and upstream.node_id == node_id:
            return
        if not upstream.healthy:
            log.info("upstream %s is healthy", upstream.url)
        upstream.healthy, upstream.node_id = True, node_id
        self._rebuild()

    def _apply(self) -> None:
        """Rebuild the members from the configured nodes (minus removed ones) and the added ones."""
        wanted = [url for url in self._configured if url not in self._removed]
        wanted += [url for url in self._added if url not in wanted]
        for url in self._members:
            if url not in wanted:
                log.info("upstream %s removed", url)
        for url in wanted:
            if url not in self._members:
                log.info("upstream %s added", url)
        self._members = {url: self._members.get(url) or Upstream(url) for url in wanted}
        self._rebuild()

    def _rebuild(self) -> None:
        members = tuple(self._members.values())
        serving = tuple(u for u in members if u.healthy)
        available = tuple(u for u in serving if not u.draining)
        self._view = Membership(members, available, serving, _routes(available))


def _routes(available: tuple[Upstream, ...]) -> dict[str, Upstream]:
    """Node id -> upstream; when two upstreams report one id, the first keeps it (and the clash is logged)."""
    routes: dict[str, Upstream] = {}
    for upstream in available:
        if upstream.node_id is None:
            continue
        if upstream.node_id in routes:
            log.warning("upstreams %s and %s both say they are %r", routes[upstream.node_id].url, upstream.url,
                        upstream.node_id)  # fmt: skip
            continue
        routes[upstream.node_id] = upstream
    return routes
