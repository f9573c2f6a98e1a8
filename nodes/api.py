"""The node's HTTP API: log in, read and change the session, log out, health and readiness.

Handlers only read and change the session mapping; loading and saving it is aiohttp-session's middleware
and the configured store's job. Every answer names the node that served it, so a client can see where its
request landed and whether that node saw its session.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp_session import Session

from nodes.actions import current_session, end_every_session, end_session, increment, start_session
from nodes.changes import Render, SessionReply, add_to_cart, apply, clear_cart
from nodes.keys import NODE_ID, STORE
from nodes.validation import BadRequest, read_cart_item, read_login

routes = web.RouteTableDef()


def reply(request: web.Request, code: int = 200, **body: Any) -> web.Response:
    return web.json_response({"node": request.app[NODE_ID], **body}, status=code)


def from_session(request: web.Request, session: Session, render: Render) -> SessionReply:
    """An answer built from the session; re-rendered if the store merges a concurrent write."""
    return SessionReply(request.app[NODE_ID], render, session)


def show_counter(session: Any) -> dict[str, Any]:
    return {"user": session["user"], "counter": session["counter"]}


def show_cart(session: Any) -> dict[str, Any]:
    return {"user": session["user"], "cart": session["cart"]}


def missing(request: web.Request) -> web.Response:
    return reply(request, 401, session="missing")


SessionHandler = Callable[[web.Request, Session], Awaitable[web.Response]]


def needs_session(handler: SessionHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Run `handler` with the caller's session, or answer 401 `missing` when this node does not see one."""

    @functools.wraps(handler)
    async def with_session(request: web.Request) -> web.Response:
        session = await current_session(request)
        return missing(request) if session is None else await handler(request, session)

    return with_session


@routes.post("/login")
async def login(request: web.Request) -> web.Response:
    user = read_login(await _json(request))
    await start_session(request, user)
    return reply(request, user=user, session="new")


@routes.get("/me")
@needs_session
async def me(request: web.Request, session: Session) -> web.Response:
    return reply(request, user=session["user"], counter=session["counter"], session="found")


@routes.post("/counter")
@needs_session
async def counter(request: web.Request, session: Session) -> web.Response:
    increment(request, session)
    return from_session(request, session, show_counter)


@routes.get("/cart")
@needs_session
async def get_cart(request: web.Request, session: Session) -> web.Response:
    return from_session(request, session, show_cart)


@routes.post("/cart/items")
@needs_session
async def add_cart_item(request: web.Request, session: Session) -> web.Response:
    sku, qty = read_cart_item(await _json(request))
    apply(request, session, add_to_cart(sku, qty))
    return from_session(request, session, show_cart)


@routes.delete("/cart")
@needs_session
async def empty_cart(request: web.Request, session: Session) -> web.Response:
    apply(request, session, clear_cart)
    return from_session(request, session, show_cart)


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    found = await end_session(request)
    return reply(request, session="ended" if found else "none")


@routes.post("/logout-all")
@needs_session
async def logout_all(request: web.Request, session: Session) -> web.Response:
    user = session["user"]
    ended = await end_every_session(request, session)
    return reply(request, user=user, sessions_ended=ended, scope=request.app[STORE].revocation_scope)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return reply(request, status="ok")


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    store = request.app[STORE]
    ready = await store.ready()
    return reply(request, 200 if ready else 503, store=store.name, ready=ready)


async def _json(request: web.Request) -> Any:
    """The body as JSON; anything a client can send that is not usable JSON is a 400, never a 500."""
    try:
        return await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting deeper than ~1,000 levels
        raise BadRequest("the body must be a JSON object") from None
    except LookupError:  # Content-Type names a charset Python cannot decode with (e.g. charset=foo)
        raise BadRequest("the body's charset is not one this node can decode") from None
    except ConnectionResetError:  # the client broke off its upload: nobody is left to read the answer
        raise BadRequest("the request body was cut off") from None
