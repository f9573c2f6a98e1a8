"""Re-issue a session reference tagged with this node's route when the client's names another node.

Runs inside aiohttp-session's middleware, so when the request also saves the session, the store's own
answer (a new reference, a cleared one) replaces this one. A read that finds the session re-issues too —
one Set-Cookie or header, no store write — so a balancer routing on the tag converges after one request.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_session import SESSION_KEY, Session

from nodes.transport import Transport


def reissue_with_own_route(transport: Transport) -> Middleware:
    @web.middleware
    async def retag(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        reference = transport.read(request)
        if reference is not None and transport.needs_new_route(request) and _found(request):
            transport.send(request, response, reference)
        return response

    return retag


def _found(request: web.Request) -> bool:
    """Whether this request loaded a live session from the client's reference (never loads one itself)."""
    session = request.get(SESSION_KEY)
    return isinstance(session, Session) and not session.new and not session.empty
