"""Active health checks: every BALANCER_HEALTH_INTERVAL each node's /healthz is fetched; a pass re-admits the
node, a failure ejects it. (Passive ejection on connection failures happens in the data path.) The answer's X-Node-Id
tells which node an upstream is, for `route` routing."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp

from balancer.settings import BalancerSettings
from balancer.upstreams import Upstream, UpstreamRegistry
from nodes.contract.names import NODE_ID_HEADER

log = logging.getLogger("balancer.health")


class HealthChecker:
    """Checks every member of the registry, concurrently, with its own small connection pool."""

    def __init__(self, registry: UpstreamRegistry, settings: BalancerSettings) -> None:
        self._registry = registry
        self._interval = settings.health_interval
        self._path = settings.health_path
        self._timeout = aiohttp.ClientTimeout(total=settings.health_timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HealthChecker:
        self._session = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(), timeout=self._timeout, auto_decompress=False
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def run(self) -> None:
        """Check all nodes now, then once per interval, until cancelled."""
        while True:
            started = time.monotonic()
            try:
                await self.check_all()
            except Exception:  # a bug here must not end health checking for the life of the process
                log.exception("health-check round failed")
            await asyncio.sleep(max(0.0, self._interval - (time.monotonic() - started)))

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(upstream) for upstream in self._registry.members))

    async def check(self, upstream: Upstream) -> bool:
        """One check of one node; updates its health and returns whether it passed."""
        return await self.check_problem(upstream) is None

    async def check_problem(self, upstream: Upstream) -> str | None:
        """One check of one node; updates its health and returns why it failed (None: it passed)."""
        problem, node_id = await self._probe(upstream)
        if problem is None:
            self._registry.mark_up(upstream, node_id)
            return None
        if upstream.healthy:
            self._registry.mark_down(upstream, f"health check failed ({problem})")
        else:
            log.debug("upstream %s still down: %s", upstream.url, problem)
        return problem

    async def _probe(self, upstream: Upstream) -> tuple[str | None, str | None]:
        """Why the node fails its check (None when it passes: any 2xx), and the node id its answer names."""
        assert self._session is not None, "use HealthChecker as an async context manager"
        try:
            async with self._session.get(upstream.url + self._path, allow_redirects=False) as response:
                await response.read()
                node_id = response.headers.get(NODE_ID_HEADER) or None
                return (None if 200 <= response.status < 300 else f"status {response.status}"), node_id
        except TimeoutError:
            return "timeout", None
        except aiohttp.ClientError as exc:
            return (type(exc).__name__ if not str(exc) else str(exc)), None
