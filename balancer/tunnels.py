"""The open tunnels (and event streams: balancer/event_stream.py), and the ways the balancer ends them itself:
the idle timeout (HAProxy's `timeout tunnel`) and the end of a node's drain (its tunnels get the drain time to
finish, then a close 1001 so clients reconnect elsewhere). A node that leaves the membership has its tunnels closed
at once. Optionally, a rebalance: when a node joins, a share of the other nodes' tunnels is closed (1001), so that
their clients reconnect and spread; without it open connections never move to a new node."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from balancer.event_stream import EventStream
from balancer.tunnel import Tunnel
from balancer.upstreams import Membership, Upstream

LongLived = Tunnel | EventStream  # what the sweep ends: upgraded connections and event streams alike

log = logging.getLogger("balancer.proxy")


class Tunnels:
    """Every open tunnel, swept every `check_interval` seconds."""

    def __init__(
        self, idle_timeout: float, drain_timeout: float, clock: Callable[[], float], rebalance: float = 0.0
    ) -> None:
        self.open: set[LongLived] = set()
        self.rebalance = rebalance  # the share of other nodes' tunnels closed when a node joins
        self._available: set[str] | None = None  # the nodes taking new clients at the last sweep
        self.idle_timeout = idle_timeout
        self.drain_timeout = drain_timeout
        self.check_interval = max(0.05, min(1.0, idle_timeout / 4, drain_timeout / 4 or 1.0))
        self._clock = clock

    def add(self, tunnel: LongLived) -> None:
        self.open.add(tunnel)

    def discard(self, tunnel: LongLived) -> None:
        self.open.discard(tunnel)

    def sweep(self, view: Membership) -> None:
        """Close the tunnels idle too long, those of a node whose drain time is over, and those of removed nodes;
        rebalance when a node joined."""
        now, wall = self._clock(), time.monotonic()
        current = set(view.members)
        self._rebalance_on_join({upstream.url for upstream in view.available})
        for tunnel in list(self.open):
            upstream = tunnel.upstream
            if now - tunnel.last_active > self.idle_timeout:
                log.info("closing a tunnel to %s idle for %.1f s", upstream.url, now - tunnel.last_active)
                tunnel.close()
            elif upstream not in current or self._drained(upstream, wall):
                tunnel.going_away()

    def _rebalance_on_join(self, available: set[str]) -> None:
        """A node joined (added, or back from down or drained): close the rebalance share of the others' tunnels."""
        joined = available - self._available if self._available is not None else set()
        self._available = available
        if not joined or not self.rebalance:
            return
        others = [tunnel for tunnel in self.open if tunnel.upstream.url not in joined]
        chosen = random.sample(others, round(self.rebalance * len(others)))
        log.info("%s joined: closing %d of %d tunnels (1001) so their clients spread", ", ".join(sorted(joined)),
                 len(chosen), len(others))  # fmt: skip
        for tunnel in chosen:
            tunnel.going_away()

    def _drained(self, upstream: Upstream, wall: float) -> bool:
        since = upstream.draining_since
        return since is not None and wall - since >= self.drain_timeout
