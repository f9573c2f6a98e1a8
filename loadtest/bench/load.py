"""The load side of `sessionlab bench`: clients that keep their session, and wrk runs that replay them.

Sessions are made before a measured run, one per wrk connection: a login for the store rows, a first request
for the proxy rows (which keeps whatever affinity cookie the proxy sets). wrk then sends each request with one
of these Cookie headers, pre-formatted once in Lua, so every row costs wrk the same per request.
"""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from loadtest.bench.configs import replay_script
from nodes.contract.names import ROUTE_SEPARATOR, SESSION_COOKIE


@dataclass(frozen=True, slots=True)
class Workload:
    """What each client sends: one method and path, with its own Cookie header."""

    method: str
    path: str
    body: str | None = None


@dataclass(frozen=True, slots=True)
class Measurement:
    """One wrk run."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non2xx: int
    socket_errors: int


def lua_script(path: Path, workload: Workload, cookies: list[str]) -> Path:
    """Write the wrk script that replays `cookies` (one per client) with the workload's request."""
    path.write_text(replay_script(cookies, workload.method, workload.path, workload.body))
    return path


def run_wrk(wrk: str, url: str, script: Path, *, seconds: int, connections: int, timeout: float) -> Measurement:
    """One wrk run (one thread: the load generator's core) and its figures, read from the script's `done`."""
    argv = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s", str(script), url]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    line = next((line for line in reversed(result.stdout.splitlines()) if line.startswith("{")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-300:]}")
    figures = json.loads(line)
    seconds_run = max(figures["duration_us"], 1) / 1e6
    return Measurement(
        rps=figures["requests"] / seconds_run,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        requests=figures["requests"],
        non2xx=figures["non2xx"],
        socket_errors=figures["socket_errors"],
    )


def login_sessions(base_url: str, count: int, prefix: str = "bench") -> list[str]:
    """`count` logged-in sessions on a node (POST /login), as Cookie header values."""
    cookies = []
    with _Client(base_url) as client:
        for index in range(count):
            status, set_cookies = client.request("POST", "/login", json.dumps({"user": f"{prefix}-{index}"}))
            session = _cookie_pairs(set_cookies).get(SESSION_COOKIE)
            if status != 200 or session is None:
                raise RuntimeError(f"login on {base_url} failed: status {status}")
            cookies.append(f"{SESSION_COOKIE}={session}")
    return cookies


def browser_sessions(base_url: str, path: str, count: int, route_tags: Sequence[str] = ()) -> list[str]:
    """`count` clients, each with its own session id, that keep the cookies a first request through a proxy sets
    (an affinity cookie in sticky modes), as Cookie header values; with `route_tags`, each id is tagged with one
    of them in turn, as a node with SESSION_ROUTE_TAG tags the references it issues (route mode)."""
    cookies = []
    with _Client(base_url) as client:
        for index in range(count):
            session_id = f"bench{index:04d}{'x' * 24}"  # the shape of a real id: hash mode spreads them
            if route_tags:
                session_id += ROUTE_SEPARATOR + route_tags[index % len(route_tags)]
            jar = {SESSION_COOKIE: session_id}
            status, set_cookies = client.request("GET", path, cookie=_cookie_header(jar))
            if status != 200:
                raise RuntimeError(f"GET {path} through {base_url} answered {status}")
            jar.update(_cookie_pairs(set_cookies))
            cookies.append(_cookie_header(jar))
    return cookies


class _Client:
    """A keep-alive HTTP/1.1 client that reports Set-Cookie headers (http.client keeps no cookies itself)."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._conn.close()

    def request(self, method: str, path: str, body: str | None = None, cookie: str = "") -> tuple[int, list[str]]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if cookie:
            headers["Cookie"] = cookie
        self._conn.request(method, path, body=body, headers=headers)
        response = self._conn.getresponse()
        response.read()
        return response.status, response.headers.get_all("Set-Cookie") or []


def _cookie_pairs(set_cookies: list[str]) -> dict[str, str]:
    pairs = (header.split(";", 1)[0].partition("=") for header in set_cookies)
    return {name.strip(): value.strip() for name, _, value in pairs}


def _cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())
