"""The data path, top to bottom: a `ClientConnection` per client (balancer.client) feeds a `RequestReader`
(balancer.reader) and runs an `Exchange` per request (balancer.exchange), which asks the router for a node
(balancer.routing), takes a node connection from the `ConnectionPool` (balancer.pool), and relays the answer.

`Proxy` is what every client connection shares: the router, the pool, the balancer's own endpoints, the set of
open client connections, and the graceful stop.
"""

from __future__ import annotations

import asyncio

from balancer.client import ClientConnection
from balancer.pool import ConnectionPool
from balancer.ports import OwnEndpoints
from balancer.routing import Router
from balancer.settings import BalancerSettings
from balancer.tunnels import Tunnels
from nodes.contract.service_time import ServiceTimes

KEEPALIVE_TIMEOUT = 75.0  # an idle client connection is closed after this long (as aiohttp's server does)


class Proxy:
    """What every client connection shares: settings, the router, the node connection pool, and the connections."""

    def __init__(self, settings: BalancerSettings, router: Router, pool: ConnectionPool, own: OwnEndpoints) -> None:
        self.router = router
        self.pool = pool
        self.own = own
        self.hidden_cookie = router.policy.affinity_cookie
        self.session_header = settings.session_header.lower().encode()
        self.access_log = settings.access_log
        self.clock = pool.clock
        self.connections: set[ClientConnection] = set()
        self.tunnels = Tunnels(settings.tunnel_timeout, settings.drain_timeout, pool.clock, settings.tunnel_rebalance)
        self.service_times = ServiceTimes()  # each forwarded request's time here, from its turn to its answer's end
        self.shutting_down = False
        self.drained = asyncio.Event()  # set once shutting down and the last client connection has closed

    def connection(self) -> ClientConnection:
        """The protocol factory for the listening server."""
        return ClientConnection(self)

    def shutdown(self) -> None:
        """Stop keeping connections alive: idle ones close now, busy ones once their current answer is sent."""
        self.shutting_down = True
        for conn in list(self.connections):
            conn.close_when_idle()
        if not self.connections:
            self.drained.set()

    def sweep(self) -> None:
        """Close client connections idle longer than the keep-alive timeout."""
        deadline = self.clock() - KEEPALIVE_TIMEOUT
        for conn in list(self.connections):
            if conn.idle_since is not None and conn.idle_since < deadline:
                conn.close_when_idle()
