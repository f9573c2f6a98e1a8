"""GET NODE_SESSION_STATS_PATH: the node's session counters (`nodes.stores.counters`), and the request count.

Requests are counted like the service times (`nodes.timing`): health checks and the node's own /_ endpoints are
not the load's requests, so "store writes per request" divides by what the load sent.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from nodes.contract.names import NODE_SESSION_STATS_PATH
from nodes.stores.counters import SessionCounters
from nodes.timing import UNTIMED


def counting_middleware(counters: SessionCounters) -> Middleware:
    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(UNTIMED):
            counters.requests += 1
        return await handler(request)

    return count


def add_session_stats_route(app: web.Application, counters: SessionCounters) -> None:
    async def show(request: web.Request) -> web.Response:
        return web.json_response(counters.snapshot())

    app.router.add_get(NODE_SESSION_STATS_PATH, show)
