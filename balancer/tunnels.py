"""The open tunnels, and the two ways the balancer ends them itself: the idle timeout (HAProxy's `timeout tunnel`)
and the end of a node's drain (its tunnels get the drain time to finish, then a close 1001 so clients reconnect
elsewhere). A node that leaves the membership has its tunnels closed at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from balancer.tunnel import Tunnel
from balancer.upstreams import Upstream

log = logging.getLogger("balancer.proxy")


class Tunnels:
    """Every open tunnel, swept every `check_interval` seconds."""

    def __init__(self, idle_timeout: float, drain_timeout: float, clock: Callable[[], float]) -> None:
        self.open: set[Tunnel] = set()
        self.idle_timeout = idle_timeout
        self.drain_timeout = drain_timeout
        self.check_interval = max(0.05, min(1.0, idle_timeout / 4, drain_timeout / 4 or 1.0))
        self._clock = clock

    def add(self, tunnel: Tunnel) -> None:
        self.open.add(tunnel)

    def discard(self, tunnel: Tunnel) -> None:
        self.open.discard(tunnel)

    def sweep(self, members: Iterable[Upstream]) -> None:
        """Close the tunnels idle too long, those of a node whose drain time is over, and those of removed nodes."""
        now, wall = self._clock(), time.monotonic()
        current = set(members)
        for tunnel in list(self.open):
            upstream = tunnel.upstream
            if now - tunnel.last_active > self.idle_timeout:
                log.info("closing a tunnel to %s idle for %.1f s", upstream.url, now - tunnel.last_active)
                tunnel.close()
            elif upstream not in current or self._drained(upstream, wall):
                tunnel.going_away()

    def _drained(self, upstream: Upstream, wall: float) -> bool:
        since = upstream.draining_since
        return since is not None and wall - since >= self.drain_timeout
