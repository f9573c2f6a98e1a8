"""The balancer as a process (`python -m balancer`): graceful SIGTERM, bounded memory for large bodies, and an
end-to-end run through real node processes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from balancer.settings import BalancerSettings
from loadtest.lab.launcher import child_env, launch_balancer, launch_node
from loadtest.lab.probe import http_status
from loadtest.lab.processes import ManagedProcess, free_port
from tests.balancer.support import eventually
from tests.test_compose import names_read_by

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc and sends POSIX signals")

MB = 1024 * 1024
ROUTE_SECRET = "process-test-route-secret-42"


async def await_ready(processes: list[ManagedProcess], process: ManagedProcess, port: int, path: str) -> None:
    """Track `process` for the fixture's stop, then wait until http://127.0.0.1:<port><path> answers 200.

    In a thread: in-process upstreams must keep answering health checks while we wait."""
    processes.append(process)

    def ready() -> bool:
        return http_status(f"http://127.0.0.1:{port}{path}") == 200

    await asyncio.to_thread(process.wait_ready, ready, 20)


@pytest.fixture
def processes() -> Iterator[list[ManagedProcess]]:
    """Processes a test starts; stopped (by PID) at the end whatever happens."""
    started: list[ManagedProcess] = []
    yield started
    for process in started:
        process.stop()


async def start_balancer_process(
    processes: list[ManagedProcess], tmp_path: Path, upstreams: list[str], **env: str
) -> tuple[ManagedProcess, str]:
    port = free_port()
    env = child_env(BALANCER_UPSTREAMS=",".join(upstreams), **env)
    process = launch_balancer("balancer", "127.0.0.1", port, tmp_path, env)  # logs to balancer.log
    await await_ready(processes, process, port, "/_balancer/status")
    return process, f"http://127.0.0.1:{port}"


async def refuses_connections(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return True
    writer.close()
    return False


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size so far (Linux VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def test_sigterm_finishes_the_request_in_flight_and_exits_0(aiohttp_server, processes, tmp_path) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await asyncio.wait_for(release.wait(), 10)
        return web.Response(text="finished")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/healthz", healthz)
    upstream = await aiohttp_server(app)
    balancer, url = await start_balancer_process(
        processes, tmp_path, [f"http://127.0.0.1:{upstream.port}"], BALANCER_ROUTING="sticky",
        BALANCER_ROUTE_SECRET=ROUTE_SECRET,
    )  # fmt: skip
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(session.get(url + "/slow"))
        await asyncio.wait_for(entered.wait(), 10)
        balancer.signal(signal.SIGTERM)
        await eventually(lambda: refuses_connections(url))  # it stops accepting...
        assert balancer.running()  # ...but waits for the request in flight
        release.set()
        response = await asyncio.wait_for(request, 10)
        assert response.status == 200 and await response.text() == "finished"
        response.release()
    assert await asyncio.to_thread(balancer.wait, 10) == 0
    log = (tmp_path / "balancer.log").read_text()
    assert ROUTE_SECRET not in log and "BALANCER_ROUTE_SECRET is not set" not in log
    assert "Traceback" not in log


async def test_large_bodies_stream_through_with_bounded_memory(aiohttp_server, processes, tmp_path) -> None:
    size, chunk = 64 * MB, os.urandom(256 * 1024)
    expected = hashlib.sha256(chunk * (size // len(chunk))).hexdigest()
    received: dict[str, object] = {}

    async def upload(request: web.Request) -> web.Response:
        digest, count = hashlib.sha256(), 0
        async for data in request.content.iter_any():
            digest.update(data)
            count += len(data)
        received.update(count=count, sha256=digest.hexdigest())
        return web.Response(text="stored")

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(size)})
        await response.prepare(request)
        for _ in range(size // len(chunk)):
            await response.write(chunk)
        return response

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/upload", upload)
    app.router.add_get("/download", download)
    app.router.add_get("/healthz", healthz)
    upstream = await aiohttp_server(app)
    balancer, url = await start_balancer_process(
        processes, tmp_path, [f"http://127.0.0.1:{upstream.port}"], BALANCER_ROUTING="sticky"
    )
    assert balancer.pid is not None

    async def body() -> AsyncIterator[bytes]:
        for _ in range(size // len(chunk)):
            yield chunk

    async with aiohttp.ClientSession() as session:
        async with session.get(url + "/healthz") as response:  # warm up every code path first
            assert response.status == 200
        before = peak_rss_mb(balancer.pid)
        async with session.post(url + "/upload", data=body(), headers={"Content-Length": str(size)}) as response:
            assert response.status == 200
        assert received == {"count": size, "sha256": expected}
        digest, count = hashlib.sha256(), 0
        async with session.get(url + "/download") as response:
            async for data in response.content.iter_any():
                digest.update(data)
                count += len(data)
        assert (count, digest.hexdigest()) == (size, expected)
    growth = peak_rss_mb(balancer.pid) - before
    print(f"balancer peak RSS grew by {growth:.1f} MiB for 64 MiB up and 64 MiB down")
    assert growth < 16, growth  # a buffered body would cost at least 64 MiB
    assert "BALANCER_ROUTE_SECRET is not set" in (tmp_path / "balancer.log").read_text()  # loud when unset


async def test_sticky_keeps_a_browser_session_on_real_nodes(processes, tmp_path) -> None:
    """End to end: two `python -m nodes` processes with node-local (memory) sessions behind a sticky balancer."""
    node_urls = []
    for index in range(2):
        port = free_port()
        node = launch_node(f"node-{index}", "127.0.0.1", port, tmp_path, child_env(SESSION_STORE="memory"))
        await await_ready(processes, node, port, "/readyz")
        node_urls.append(f"http://127.0.0.1:{port}")
    _, url = await start_balancer_process(
        processes, tmp_path, node_urls, BALANCER_ROUTING="sticky", BALANCER_ROUTE_SECRET=ROUTE_SECRET
    )
    for user in ("alice", "bob", "carol", "dave"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
            async with browser.post(url + "/login", json={"user": user}) as response:
                assert response.status == 200
                node = response.headers["X-Node-Id"]
            for _ in range(10):
                async with browser.get(url + "/me") as response:
                    assert response.status == 200, await response.text()
                    assert response.headers["X-Node-Id"] == node


def test_help_lists_every_variable_the_balancer_reads_with_its_default() -> None:
    result = subprocess.run([sys.executable, "-m", "balancer", "--help"], capture_output=True, text=True, check=True)
    listed = {line.split()[0] for line in result.stdout.splitlines() if "(default: " in line}
    assert listed == names_read_by(BalancerSettings.from_env, {"BALANCER_UPSTREAMS": "http://node:1"})
    assert (
        "BALANCER_PORT  (default: 8080)" in result.stdout and "BALANCER_UPSTREAMS  (default: required)" in result.stdout
    )
