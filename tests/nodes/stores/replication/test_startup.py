"""The start-up pull is bounded: a peer that answers heartbeats but never sends its sessions cannot keep a new
node unready past SESSION_STARTUP_PULL_TIMEOUT; the node says so in its log and its counters."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from nodes.contract.names import REPLICATION_PREFIX
from tests.nodes.stores.replication.support import Cluster, stats

BOUND = 1.0


async def test_a_stalled_pull_ends_at_the_bound_and_the_node_is_ready_anyway(
    aiohttp_server, tmp_path: Path, http: aiohttp.ClientSession
):  # type: ignore[no-untyped-def]
    release = asyncio.Event()

    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"node": "stalled-peer", "ready": True})

    async def snapshot(request: web.Request) -> web.Response:
        await release.wait()  # a peer that took the request and hangs
        return web.json_response({"node": "stalled-peer", "ops": []})

    app = web.Application()
    app.router.add_get(REPLICATION_PREFIX + "ping", ping)
    app.router.add_get(REPLICATION_PREFIX + "snapshot", snapshot)
    stalled = await aiohttp_server(app)
    began = time.monotonic()
    cluster = Cluster(tmp_path, 0, spare=1, SESSION_STARTUP_PULL_TIMEOUT=str(BOUND))
    cluster.ports.append(stalled.port)
    try:
        node = await asyncio.to_thread(cluster.start_node)  # returns once /readyz answers 200
        assert time.monotonic() - began < BOUND + 10  # start-up of the process itself included
        figures = await stats(http, node)
        assert (figures["startup_pull"], figures["startup_pull_timeouts"]) == ("timed-out", 1)
        assert BOUND <= figures["startup_pull_seconds"] < BOUND + 1
        assert "ready anyway" in cluster.log(node)
    finally:
        release.set()
        cluster.stop()
