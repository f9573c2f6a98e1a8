"""The node application: its settings, its session store and the API, wired in one factory.

Request path: `refuse` (a head over the limits: JSON 431, `nodes.head_limits`) → `timed` (the node's own time per
request, nodes/timing.py) → `track` (counts in-flight
requests for a graceful SIGTERM) → `answer_errors`
(X-Node-Id on every answer, store errors to 503/413/409, never a traceback) → `one_writer_per_session`
(cas stores: same-session writes on this node queue instead of racing, and the queue's writes share one
compare-and-set: `nodes.stores.group_commit`) → `merge_on_conflict` (cas stores:
a stale save re-applies the request's changes to a fresh copy) → aiohttp-session's middleware (loads the
session lazily, saves it if changed) → `retag` (SESSION_ROUTE_TAG: a found session's reference is re-issued
with this node's route) → handler.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_session import session_middleware

from nodes.api import routes
from nodes.changes import SessionConflict
from nodes.contract.names import (
    CAS,
    COOKIE_TOO_LARGE_ERROR,
    NODE_ID_HEADER,
    STORE_FULL_ERROR,
    STORE_UNAVAILABLE_ERROR,
)
from nodes.contract.service_time import ServiceTimes
from nodes.head_limits import refuse_large_heads
from nodes.keys import CONFLICTS, IN_FLIGHT, NODE_ID, ROUTING, STORE, TICK_SECONDS, TRANSPORTS
from nodes.live import live_routes
from nodes.page import page_routes, unavailable, wants_html
from nodes.polling import Transports
from nodes.request_log import request_log_middleware
from nodes.route_tag import reissue_with_own_route
from nodes.serve import InFlight
from nodes.session_stats import add_session_stats_route, counting_middleware
from nodes.settings import NodeSettings
from nodes.stores import SessionStore, build_store
from nodes.stores.counters import SessionCounters
from nodes.stores.errors import SessionGone, SessionTooLarge, StoreFull, StoreUnavailable
from nodes.stores.life import is_login
from nodes.stores.replicated import ReplicatedStore
from nodes.stores.replication.build import wire_into
from nodes.stores.server_side import ServerSideStore
from nodes.timing import add_service_time_route, service_time_middleware
from nodes.validation import BadRequest
from nodes.writes import ConflictCount, merge_on_conflict, one_writer_per_session

log = logging.getLogger("nodes")

RETRY_AFTER_SECONDS = "1"
FULL = "the session store is at its memory limit and refuses new sessions; sessions already stored still work"


def error_middleware(node_id: str, counters: SessionCounters | None = None) -> Middleware:
    """Turn every failure into a small JSON answer that names this node."""
    counters = counters or SessionCounters()

    @web.middleware
    async def answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except StoreFull:
            counters.logins_refused += is_login(request)
            response = unavailable(request) if wants_html(request) else _error(503, STORE_FULL_ERROR, detail=FULL)
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        except StoreUnavailable:
            response = unavailable(request) if wants_html(request) else _error(503, STORE_UNAVAILABLE_ERROR)
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        except SessionGone:
            response = web.json_response({"node": node_id, "session": "missing"}, status=401)
        except SessionConflict as exc:
            response = _error(409, "concurrent update conflict", detail=str(exc))
        except SessionTooLarge as exc:
            # No Set-Cookie goes out, so the client keeps its previous, still valid session.
            response = _error(413, COOKIE_TOO_LARGE_ERROR, cookie_bytes=exc.size, limit_bytes=exc.limit)
        except BadRequest as exc:
            response = _error(400, exc.detail)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = _error(exc.status, exc.reason.lower(), headers=_allow(exc))
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = _error(500, "internal error")
        response.headers[NODE_ID_HEADER] = node_id
        return response

    return answer_errors


def _error(status: int, reason: str, headers: dict[str, str] | None = None, **extra: object) -> web.Response:
    return web.json_response({"error": reason, **extra}, status=status, headers=headers)


def _allow(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None


def create_app(settings: NodeSettings) -> web.Application:
    store = build_store(settings)
    conflicts, in_flight = ConflictCount(), InFlight()
    times = ServiceTimes()
    middlewares = [refuse_large_heads(settings.node_id), service_time_middleware(times), in_flight.middleware()]
    middlewares.append(counting_middleware(store.counters))
    middlewares += [*_middlewares(settings, store, conflicts), session_middleware(store)]
    if store.transport.route is not None:
        middlewares.append(reissue_with_own_route(store.transport))
    app = web.Application(middlewares=middlewares)
    app[NODE_ID] = settings.node_id
    app[ROUTING] = settings.routing
    app[STORE] = store
    app[CONFLICTS] = conflicts
    app[IN_FLIGHT] = in_flight
    app[TICK_SECONDS] = settings.tick_ms / 1000
    app[TRANSPORTS] = Transports()
    app.add_routes(routes)
    app.add_routes(live_routes)
    app.add_routes(page_routes)
    add_service_time_route(app, times)
    add_session_stats_route(app, store.counters)
    if isinstance(store, ReplicatedStore):
        wire_into(app, store.replicator, settings)
    app.cleanup_ctx.append(_store_lifecycle)
    return app


def _middlewares(settings: NodeSettings, store: SessionStore, conflicts: ConflictCount) -> list[Middleware]:
    """The middlewares outside aiohttp-session's: errors always; the write queue and the merge for cas stores."""
    middlewares = [error_middleware(settings.node_id, store.counters)]
    if settings.request_log:
        middlewares.append(request_log_middleware(settings.request_log))
    if isinstance(store, ServerSideStore) and store.consistency == CAS:
        middlewares += [one_writer_per_session(store, conflicts), merge_on_conflict(store, conflicts)]
    return middlewares


async def _store_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[STORE].close()
