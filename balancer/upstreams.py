"""The upstream set: which nodes exist, which are healthy, and what each has done, shared by every other module.

Membership is dynamic (`set_urls`), so discovery can add and remove nodes while requests are in flight; routing
reads an immutable `Membership` snapshot that is rebuilt only when membership or health changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger("balancer.upstreams")


@dataclass(eq=False, slots=True)
class Upstream:
    """One node: where it is, whether routing may pick it, and the counters that status and metrics report.

    The counters are written only by the methods below, which the data path calls at each step of an exchange.
    """

    url: str  # origin, e.g. "http://127.0.0.1:8081": the node's stable identity (hash ring, affinity cookie)
    healthy: bool = True  # optimistic at start: passive ejection and the first check correct it at once
    in_flight: int = 0
    served: int = 0  # responses received from the node, any status
    failures: int = 0  # proxied requests that failed: connection refused or reset, disconnect, timeout

    def request_started(self) -> None:
        self.in_flight += 1

    def request_ended(self) -> None:
        self.in_flight -= 1

    def answered(self) -> None:
        self.served += 1

    def failed(self) -> None:
        self.failures += 1


@dataclass(frozen=True, slots=True)
class Membership:
    """An immutable view of the upstream set for one routing decision."""

    members: tuple[Upstream, ...]
    healthy: tuple[Upstream, ...]

    def without(self, upstream: Upstream) -> Membership:
        """The same view minus one upstream (used to retry a failed request on another node)."""
        return Membership(self.members, tuple(u for u in self.healthy if u is not upstream))


class UpstreamRegistry:
    """The dynamic set of upstreams with their health; the single writer of health state."""

    def __init__(self, urls: Iterable[str]) -> None:
        self._members: dict[str, Upstream] = {}
        self._view = Membership((), ())
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
        """Make the membership exactly `urls`: new nodes join healthy, kept nodes keep state, missing ones leave."""
        wanted = list(dict.fromkeys(urls))
        for url in self._members:
            if url not in wanted:
                log.info("upstream %s removed", url)
        members = {url: self._members.get(url) or Upstream(url) for url in wanted}
        for url in wanted:
            if url not in self._members:
                log.info("upstream %s added", url)
        self._members = members
        self._rebuild()

    def mark_down(self, upstream: Upstream, reason: str) -> None:
        """Eject a node from routing (failed health check or connection failure)."""
        if upstream.healthy:
            upstream.healthy = False
            log.warning("upstream %s is down: %s", upstream.url, reason)
            self._rebuild()

    def mark_up(self, upstream: Upstream) -> None:
        """Re-admit a node after a passing health check."""
        if not upstream.healthy:
            upstream.healthy = True
            log.info("upstream %s is healthy again", upstream.url)
            self._rebuild()

    def _rebuild(self) -> None:
        members = tuple(self._members.values())
        self._view = Membership(members, tuple(u for u in members if u.healthy))
