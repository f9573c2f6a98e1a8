"""A tiny app that behaves the ways `sessionlab probe` must judge: run as `python -m tests.loadtest.probe.app PORT
ELSEWHERE_PORT`.

It forgets a session now and then (a counter reset, a 401, a redirect to /login), names an alternating backend
in a JSON field, sets a balancer-like cookie, and redirects off its host to a second port that counts its hits.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import sys

from aiohttp import web

FORGET_EVERY = 4  # every 4th session request forgets its session
STATE: dict[str, int] = {"logins": 0, "logouts": 0, "elsewhere_hits": 0}
SESSIONS: dict[str, int] = {}
CALLS = itertools.count(1)
NODES = itertools.cycle(("alpha", "beta"))
ELSEWHERE = web.AppKey("elsewhere", int)


def answer(body: dict[str, object] | None = None, status: int = 200) -> web.Response:
    return web.json_response({"node": next(NODES), **(body or {})}, status=status)


def forgets(request: web.Request) -> str | None:
    """The caller's session id, or None when it has none, or when this call forgets it."""
    sid = request.cookies.get("sid")
    if sid not in SESSIONS:
        return None
    if next(CALLS) % FORGET_EVERY == 0:
        SESSIONS.pop(sid)
        return None
    return sid


async def login(request: web.Request) -> web.Response:
    sid = secrets.token_hex(8)
    SESSIONS[sid] = 0
    STATE["logins"] += 1
    response = answer({"session": "new"})
    response.set_cookie("sid", sid)
    response.set_cookie("LB", "pin-a")
    return response


async def counter(request: web.Request) -> web.Response:
    sid = request.cookies.get("sid")
    if sid not in SESSIONS:
        return answer(status=401)
    if next(CALLS) % FORGET_EVERY == 0:
        SESSIONS[sid] = 0  # a fresh session behind the same cookie: the counter starts again
    SESSIONS[sid] += 1
    return answer({"counter": SESSIONS[sid]})


async def me_401(request: web.Request) -> web.Response:
    return answer() if forgets(request) else answer(status=401)


async def me_redirect(request: web.Request) -> web.Response:
    if forgets(request):
        return answer()
    raise web.HTTPFound("/login?next=/me")


async def off_host(request: web.Request) -> web.Response:
    raise web.HTTPFound(f"http://127.0.0.1:{request.app[ELSEWHERE]}/stolen")


async def no_counter(request: web.Request) -> web.Response:
    return answer({"ok": True})


async def logout(request: web.Request) -> web.Response:
    STATE["logouts"] += 1
    SESSIONS.pop(request.cookies.get("sid", ""), None)
    return answer()


async def stats(request: web.Request) -> web.Response:
    return web.json_response(STATE)


async def elsewhere(request: web.Request) -> web.Response:
    STATE["elsewhere_hits"] += 1
    return web.Response(text="off the target host")


async def serve(port: int, elsewhere_port: int) -> None:
    app = web.Application()
    app[ELSEWHERE] = elsewhere_port
    app.router.add_post("/login", login)
    app.router.add_post("/counter", counter)
    app.router.add_get("/me401", me_401)
    app.router.add_get("/meredirect", me_redirect)
    app.router.add_get("/offhost", off_host)
    app.router.add_get("/nocounter", no_counter)
    app.router.add_post("/logout", logout)
    app.router.add_get("/stats", stats)
    other = web.Application()
    other.router.add_route("*", "/{tail:.*}", elsewhere)
    for application, bound in ((app, port), (other, elsewhere_port)):
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", bound).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2])))
