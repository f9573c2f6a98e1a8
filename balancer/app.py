"""The balancer as an aiohttp application: its own /_balancer/ endpoints, and the proxy for everything else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from balancer.health import HealthChecker
from balancer.metrics import CONTENT_TYPE_LATEST, metrics_registry, render_metrics, status_document
from balancer.proxy import Proxy
from balancer.routing import Router, create_policy
from balancer.settings import BalancerSettings
from balancer.upstreams import UpstreamRegistry

OWN_PREFIX = "/_balancer/"  # never proxied

SETTINGS = web.AppKey("settings", BalancerSettings)
REGISTRY = web.AppKey("registry", UpstreamRegistry)
ROUTER = web.AppKey("router", Router)
PROXY = web.AppKey("proxy", Proxy)
HEALTH = web.AppKey("health", HealthChecker)


def create_app(settings: BalancerSettings) -> web.Application:
    """Wire settings → upstream registry → routing policy → proxy, health checks and reporting."""
    registry = UpstreamRegistry(settings.upstreams)
    router = Router(create_policy(settings), registry)
    proxy = Proxy(settings, router)
    app = web.Application()
    app[SETTINGS], app[REGISTRY], app[ROUTER], app[PROXY] = settings, registry, router, proxy
    app[HEALTH] = HealthChecker(registry, settings)
    app.cleanup_ctx.append(_proxy_client)
    app.cleanup_ctx.append(_health_checks)
    app.router.add_get(OWN_PREFIX + "status", _status)
    app.router.add_get(OWN_PREFIX + "metrics", _metrics_handler(router))
    app.router.add_route("*", OWN_PREFIX + "{tail:.*}", _not_found)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    return app


async def _proxy_client(app: web.Application) -> AsyncIterator[None]:
    """The proxy's connection pool to the nodes lives as long as the app (closed after in-flight requests)."""
    await app[PROXY].start()
    yield
    await app[PROXY].close()


async def _health_checks(app: web.Application) -> AsyncIterator[None]:
    """Active health checks run in the background from start-up (the first round at once) until shutdown."""
    async with app[HEALTH] as checker:
        task = asyncio.create_task(checker.run(), name="balancer-health-checks")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _status(request: web.Request) -> web.Response:
    return web.json_response(status_document(request.app[ROUTER]))


def _metrics_handler(router: Router) -> Callable[[web.Request], Awaitable[web.Response]]:
    """GET /_balancer/metrics, reading this app's private Prometheus registry."""
    registry = metrics_registry(router)

    async def metrics(request: web.Request) -> web.Response:
        response = web.Response(body=render_metrics(registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    return metrics


async def _not_found(request: web.Request) -> web.Response:
    return web.json_response(
        {"error": "not_found", "detail": f"the balancer has no endpoint {request.path}"},
        status=404,
        headers={"X-Balancer-Error": "not_found"},
    )
