"""What the parts of the data path see of each other, as small protocols, so no part imports its owner.

`Proxy` owns the client connections, a `ClientConnection` owns its exchanges; each owned part gets the narrow
view below instead of its owner's class (as uvicorn's request cycle gets callbacks, never its protocol), so
proxy -> client -> exchange is the only direction imports go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from balancer.errors import Failure
from balancer.pool import ConnectionPool
from balancer.reader import LocalAnswer, LocalRequest, Request
from balancer.routing import Router
from balancer.tunnels import Tunnels
from balancer.upstream_connection import UpstreamConnection
from balancer.upstreams import Upstream
from nodes.contract.service_time import ServiceTimes

# A request -> status, headers, body; or an awaitable of them, for an answer that waits (a runtime add's health check).
OwnEndpoints = Callable[[LocalRequest], LocalAnswer | Awaitable[LocalAnswer]]


class ProxyServices(Protocol):
    """What every client connection shares: the router, the node pool, the balancer's own endpoints, the stop."""

    router: Router
    pool: ConnectionPool
    own: OwnEndpoints
    hidden_cookie: str | None
    session_header: bytes
    access_log: bool
    clock: Callable[[], float]
    connections: set[Any]  # the open client connections (the owner's own type)
    tunnels: Tunnels
    shutting_down: bool
    drained: asyncio.Event
    service_times: ServiceTimes  # each forwarded request's time here, from its turn to its answer's end


class ClientSide(Protocol):
    """What an exchange may do to the client connection it answers on."""

    proxy: ProxyServices
    full: bool
    closing: bool
    access_log: bool

    def write(self, data: bytes) -> None: ...

    def exchange_done(self, exchange: Any) -> None: ...

    def send_error(self, failure: Failure, *, close: bool) -> None: ...

    def pause_reading(self, reason: str) -> None: ...

    def resume_reading(self, reason: str) -> None: ...

    def log_access(self, request: Request, status: int) -> None: ...

    def cut_off(self) -> None: ...

    def start_tunnel(
        self, conn: UpstreamConnection, upstream: Upstream, head: bytes, *, websocket: bool, first: bytes
    ) -> None: ...
