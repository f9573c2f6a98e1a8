"""The bench's generated files, from jinja2 templates under templates/: nginx and HAProxy configs, wrk Lua scripts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from loadtest.render.templates import environment
from nodes.contract.names import AFFINITY_COOKIE, SESSION_COOKIE

ENVIRONMENT = environment(Path(__file__).resolve().parent / "templates")  # the lab's one jinja2 setup


def lua_string(value: str) -> str:
    """A Lua string literal holding `value`."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


ENVIRONMENT.filters["lua"] = lua_string


def render(template: str, **values: object) -> str:
    names = {"session_cookie": SESSION_COOKIE, "affinity_cookie": AFFINITY_COOKIE}
    return ENVIRONMENT.get_template(template).render(**names, **values)


def addresses(upstreams: Sequence[str]) -> list[str]:
    return [url.removeprefix("http://") for url in upstreams]


def nginx_config(mode: str, port: int, upstreams: Sequence[str], workdir: Path) -> str:
    """One process, loopback only, keep-alive both ways with no per-connection request limit (like ours)."""
    return render("nginx.conf", mode=mode, port=port, addresses=addresses(upstreams), workdir=workdir)


def haproxy_config(mode: str, port: int, upstreams: Sequence[str]) -> str:
    """One thread, loopback only, keep-alive both ways; sticky is HAProxy's own `cookie ... insert indirect`."""
    return render("haproxy.cfg", mode=mode, port=port, addresses=addresses(upstreams))


def replay_script(cookies: list[str], method: str, path: str, body: str | None) -> str:
    """The wrk script that replays `cookies` (one per client) with one request."""
    return render("replay.lua", cookies=cookies or [""], method=method, path=path, body=body)
