"""`GET /`: a small HTML page to watch a session hop between nodes; plain forms, no JavaScript, no assets. With a
session it embeds `GET /live`, a frame whose few lines of JavaScript open a WebSocket (`/ws`) and show its ticks.

It shows which node answered, whether that node found the session, the user and the counter — never the
session reference. Its buttons POST to `/page/...`, run the same actions as the JSON API (`nodes.actions`)
and answer 303 back to `/`. The main element carries `data-node` and `data-session` ("found"/"missing").
A client that does not ask for HTML (`Accept` without `text/html`: curl, API clients, the fuzz suite) gets
the same facts as JSON, so every API answer stays JSON.
"""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from nodes.actions import current_session, end_every_session, end_session, increment, start_session
from nodes.api import reply
from nodes.contract.names import INCR_MESSAGE, WS_PATH
from nodes.keys import NODE_ID, ROUTING, STORE
from nodes.page_notes import expected, missing_note
from nodes.validation import MAX_NAME, BadRequest, read_login

page_routes = web.RouteTableDef()

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("nodes", "templates"),
    autoescape=True,  # every value is HTML-escaped: a user may call themselves <script>
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
PAGE = TEMPLATES.get_template("page.html")
UNAVAILABLE = TEMPLATES.get_template("unavailable.html")
LIVE = TEMPLATES.get_template("live.html")


NO_STORE = {"Cache-Control": "no-store", "Vary": "Accept"}  # per-session content, HTML or JSON by Accept


def render(request: web.Request, session: Any, error: str | None = None, status: int = 200) -> web.Response:
    node, store, routing = request.app[NODE_ID], request.app[STORE], request.app[ROUTING]
    sent = session is None and store.transport.read(request) is not None  # a reference this node cannot use
    html = PAGE.render(
        node=node, session=session, error=error, max_name=MAX_NAME, store=store.name, routing=routing or "unknown",
        missing_note=missing_note(node, store.name, routing) if sent else None, expected=expected(store.name, routing),
    )  # fmt: skip
    return web.Response(text=html, status=status, content_type="text/html", headers=NO_STORE)


def unavailable(request: web.Request) -> web.Response:
    """The 503 for a browser when the session store does not answer (API clients get JSON)."""
    html = UNAVAILABLE.render(node=request.app[NODE_ID], store=request.app[STORE].name)
    return web.Response(text=html, status=503, content_type="text/html", headers=NO_STORE)


def summary(request: web.Request, session: Any) -> web.Response:
    """The page's facts as JSON, for a client that did not ask for HTML."""
    if session is None:
        return reply(request, session="missing")
    return reply(request, session="found", user=session["user"], counter=session["counter"])


def wants_html(request: web.Request) -> bool:
    """Whether Accept names text/html (every browser's navigation does) with a non-zero quality."""
    for item in request.headers.get("Accept", "").split(","):
        media, _, params = item.strip().partition(";")
        if media.strip().lower() == "text/html" and params.replace(" ", "").lower() not in ("q=0", "q=0.0"):
            return True
    return False


def back_to_page() -> web.Response:
    """303 See Other: the browser GETs the page again, so a reload never re-posts the form."""
    return web.Response(status=303, headers={"Location": "/", "Cache-Control": "no-store"})


@page_routes.get("/")
async def page(request: web.Request) -> web.Response:
    session = await current_session(request)
    return render(request, session) if wants_html(request) else summary(request, session)


@page_routes.get("/live")
async def live(request: web.Request) -> web.Response:
    """The page's live panel: a WebSocket through whatever balancer served the page (it authenticates itself)."""
    html = LIVE.render(ws_path=WS_PATH, incr=INCR_MESSAGE)
    return web.Response(text=html, content_type="text/html", headers=NO_STORE)


@page_routes.post("/page/login")
async def page_login(request: web.Request) -> web.Response:
    try:
        user = read_login({"user": (await _form(request)).get("user")})
    except BadRequest as exc:
        return render(request, await current_session(request), error=exc.detail, status=400)
    await start_session(request, user)
    return back_to_page()


@page_routes.post("/page/counter")
async def page_counter(request: web.Request) -> web.Response:
    session = await current_session(request)
    if session is not None:
        increment(request, session)
    return back_to_page()


@page_routes.post("/page/logout")
async def page_logout(request: web.Request) -> web.Response:
    await end_session(request)
    return back_to_page()


@page_routes.post("/page/logout-all")
async def page_logout_all(request: web.Request) -> web.Response:
    session = await current_session(request)
    if session is not None:
        await end_every_session(request, session)
    return back_to_page()


async def _form(request: web.Request) -> dict[str, Any]:
    """The form fields; a body that is not a form is an empty one (the page then says what is missing)."""
    try:
        return dict(await request.post())
    except (ValueError, UnicodeDecodeError, LookupError):
        return {}
