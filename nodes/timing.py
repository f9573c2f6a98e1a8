"""The node's own time per request (nodes/contract/service_time.py), counted outermost and shown as JSON."""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from nodes.contract.names import NODE_SERVICE_TIME_PATH
from nodes.contract.service_time import ServiceTimes

UNTIMED = ("/healthz", "/readyz", "/_")  # health checks and node-to-node traffic are not the load's requests


def service_time_middleware(times: ServiceTimes) -> Middleware:
    """Count each request's time from the handler chain's start to its response (not the socket write)."""

    @web.middleware
    async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(UNTIMED):
            return await handler(request)
        start = time.perf_counter()
        try:
            return await handler(request)
        finally:
            times.record(time.perf_counter() - start)

    return timed


def add_service_time_route(app: web.Application, times: ServiceTimes) -> None:
    """GET NODE_SERVICE_TIME_PATH: the running totals, for a reader that takes differences."""

    async def show(request: web.Request) -> web.Response:
        return web.json_response(times.snapshot())

    app.router.add_get(NODE_SERVICE_TIME_PATH, show)
