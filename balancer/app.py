"""The balancer assembled: settings → upstream registry (static, plus DNS discovery) → routing policy → proxy, with
health checks, its own /_balancer/ endpoints, housekeeping, and a graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable

from balancer.discovery import DnsDiscovery
from balancer.errors import NOT_FOUND
from balancer.health import HealthChecker
from balancer.metrics import CONTENT_TYPE_LATEST, metrics_registry, render_metrics, status_document
from balancer.pool import ConnectionPool
from balancer.proxy import Proxy
from balancer.reader import LocalAnswer, LocalRequest
from balancer.routing import Router, create_policy
from balancer.runtime import PATHS as RUNTIME_PATHS
from balancer.runtime import RuntimeApi
from balancer.settings import BalancerSettings
from balancer.upstreams import Upstream, UpstreamRegistry
from nodes.contract.names import BALANCER_METRICS_PATH, BALANCER_STATUS_PATH, ROUTE

HOUSEKEEPING_INTERVAL = 5.0  # how often idle client and node connections are looked at
_JSON = (b"Content-Type", b"application/json; charset=utf-8")
# Matched against the raw request path on the hot path: bytes, encoded once here.
STATUS_PATH, METRICS_PATH = BALANCER_STATUS_PATH.encode(), BALANCER_METRICS_PATH.encode()


class Balancer:
    """One balancer: listens, forwards, checks the nodes' health; `start()` it, later `close()` it."""

    def __init__(self, settings: BalancerSettings) -> None:
        self.settings = settings
        self.registry = UpstreamRegistry(settings.upstreams)
        self.router = Router(create_policy(settings), self.registry)
        self._metrics = metrics_registry(self.router)
        self._health = HealthChecker(self.registry, settings)
        self._discovery = (
            DnsDiscovery(self.registry, settings.upstreams, settings.discover, settings.dns_interval)
            if settings.discover
            else None
        )
        token = settings.admin_token
        self._runtime = RuntimeApi(self.registry, token, self._check_soon) if token is not None else None
        self._checks: set[asyncio.Future[str | None]] = set()  # checks of nodes the runtime API added
        self._proxy: Proxy | None = None
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def port(self) -> int:
        assert self._server is not None, "Balancer.start() was not awaited"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        """Listen on host:port (the settings' by default; port 0: a free one), then start the health checks. With
        route routing one round of checks comes first: the node ids are known before the first tagged request (a
        restarted balancer redispatched the first tagged requests, and a memory session missed)."""
        loop = asyncio.get_running_loop()
        settings = self.settings
        pool = ConnectionPool(
            connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout, limit=settings.max_connections
        )
        self._proxy = Proxy(self.settings, self.router, pool, self.own_endpoint)
        if self._discovery is not None:  # dns:// upstreams: the first answer before the first request
            await self._discovery.refresh()
        self._proxy.tunnels.sweep(self.registry.view)  # the nodes there at start: only later ones count as joining
        await self._health.__aenter__()
        if self.router.mode == ROUTE:  # the node ids come from the checks: a tagged request before them is misrouted
            await self._health.check_all()
        self._server = await loop.create_server(
            self._proxy.connection,
            self.settings.host if host is None else host,
            self.settings.port if port is None else port,
            reuse_address=True,
            backlog=1024,
        )
        self._tasks = [
            asyncio.create_task(self._health.run(), name="balancer-health-checks"),
            asyncio.create_task(self._housekeeping(), name="balancer-housekeeping"),
            asyncio.create_task(self._read_timeouts(), name="balancer-read-timeouts"),
            asyncio.create_task(self._tunnel_sweeps(), name="balancer-tunnel-sweeps"),
        ]
        if self._discovery is not None:
            self._tasks.append(asyncio.create_task(self._discovery.run(), name="balancer-dns-discovery"))

    async def close(self, grace: float = 0.0) -> None:
        """Stop accepting; let answers in progress finish for up to `grace` seconds; then close everything."""
        if self._server is not None:
            self._server.close()
        proxy = self._proxy
        if proxy is not None:
            proxy.shutdown()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proxy.drained.wait(), grace)
            for conn in list(proxy.connections):
                conn.abort()
            proxy.pool.close()
        checks = list(self._checks)
        for check in checks:
            check.cancel()
        await asyncio.gather(*checks, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._health.__aexit__(None, None, None)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def own_endpoint(self, request: LocalRequest) -> LocalAnswer | Awaitable[LocalAnswer]:
        """GET /_balancer/status (JSON) and /_balancer/metrics (Prometheus text), the runtime API when a token is
        configured, and 404 for the rest of /_balancer/."""
        method, path = request.method, request.path
        if self._runtime is not None and path in RUNTIME_PATHS:
            return self._runtime.answer(request)
        if method in (b"GET", b"HEAD"):
            if path == STATUS_PATH:
                times = self._proxy.service_times if self._proxy is not None else None
                return 200, [_JSON], json.dumps(status_document(self.router, times)).encode()
            if path == METRICS_PATH:
                return 200, [(b"Content-Type", CONTENT_TYPE_LATEST.encode())], render_metrics(self._metrics)
        return NOT_FOUND.parts()

    def _check_soon(self, upstream: Upstream) -> asyncio.Future[str | None]:
        """Check a node the runtime API added now rather than at the next round: it gets traffic once it passes.
        The future tells why the check failed (None: it passed)."""
        check = asyncio.ensure_future(self._health.check_problem(upstream))
        self._checks.add(check)
        check.add_done_callback(self._checks.discard)
        return check

    async def _read_timeouts(self) -> None:
        assert self._proxy is not None
        pool = self._proxy.pool
        while True:
            await asyncio.sleep(pool.read_check_interval)
            pool.expire_reads()

    async def _tunnel_sweeps(self) -> None:
        """End idle tunnels and those of nodes drained past the drain time (or removed)."""
        assert self._proxy is not None
        tunnels = self._proxy.tunnels
        while True:
            await asyncio.sleep(tunnels.check_interval)
            tunnels.sweep(self.registry.view)

    async def _housekeeping(self) -> None:
        """Close idle client connections past the keep-alive timeout, and node connections idle too long."""
        assert self._proxy is not None
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            self._proxy.sweep()
            self._proxy.pool.sweep({upstream.url for upstream in self.registry.members})
