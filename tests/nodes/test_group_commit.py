"""Group commit: writes queued on one session share one compare-and-set, and every answer waits for it.

Real redis-server, real node servers, real HTTP. A test route `POST /hold` takes the session's place in the
write queue and keeps it until the test lets go, so the test decides what queues behind it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from loadtest.lab.redis_server import RedisServer
from nodes.actions import current_session, increment
from nodes.app import create_app
from nodes.changes import SessionReply
from nodes.contract.names import TOKEN_HEADER
from nodes.keys import CONFLICTS, NODE_ID
from nodes.settings import NodeSettings
from nodes.stores.handoff import Handoff, handoff_of
from tests.nodes.calls import app_login, me
from tests.nodes.test_writes import CONCURRENT, burst_on_one_node, increment_concurrently
from tests.support import eventually

WAIT = 10.0  # seconds any condition below may take before the test fails


class Hold:
    """`POST /hold`: increments the counter, then keeps the session's write queue until `release`."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.slot: Handoff | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        session = await current_session(request)
        assert session is not None
        increment(request, session)
        self.slot = handoff_of(request)
        await self.released.wait()
        return SessionReply(request.app[NODE_ID], lambda s: {"counter": s["counter"]}, session)

    def queued(self) -> int:
        return 0 if self.slot is None else self.slot.queued


HOLD_AGAIN = web.AppKey("hold_again", Hold)  # a second `POST /hold-again`, to stall the queue behind the first


async def held_node(aiohttp_server, redis_url: str, **env: str) -> tuple[str, Hold, web.Application]:  # type: ignore[no-untyped-def]
    settings = NodeSettings.from_env({"SESSION_STORE": "redis", "REDIS_URL": redis_url, **env})
    app, hold, hold_again = create_app(settings), Hold(), Hold()
    app.router.add_post("/hold", hold.handle)
    app.router.add_post("/hold-again", hold_again.handle)
    app[HOLD_AGAIN] = hold_again
    return str((await aiohttp_server(app)).make_url("")).rstrip("/"), hold, app


@dataclass
class HeldQueue:
    """A node whose session's write queue `POST /hold` keeps, and the increments queued behind it."""

    node: str
    hold: Hold
    app: web.Application
    browser: aiohttp.ClientSession
    token: str
    held: list[asyncio.Task[Any]]
    increments: list[asyncio.Task[Any]]


async def increments_behind_a_hold(aiohttp_server, client, redis_url: str, count: int, **env: str) -> HeldQueue:  # type: ignore[no-untyped-def]
    node, hold, app = await held_node(aiohttp_server, redis_url, **env)
    browser = client(cookies=False)
    token = await app_login(browser, node)
    held = queue(browser, f"{node}/hold", token)
    await eventually(lambda: hold.slot is not None, WAIT, "the hold to take the queue")
    increments = queue(browser, f"{node}/counter", token, count)
    await eventually(lambda: hold.queued() == count, WAIT, f"{count} increments queued")
    return HeldQueue(node, hold, app, browser, token, held, increments)


async def answer(call: Any) -> tuple[int, dict[str, Any], float]:
    async with call as response:
        return response.status, await response.json(), time.monotonic()


def queue(
    browser: aiohttp.ClientSession, url: str, token: str, count: int = 1, body: object = None
) -> list[asyncio.Task[Any]]:
    """`count` POSTs to `url` with the session `token`, sent now, answered later."""
    headers = {TOKEN_HEADER: token}
    return [asyncio.ensure_future(answer(browser.post(url, headers=headers, json=body))) for _ in range(count)]


@pytest.mark.parametrize("store", ["redis", "memory"])
async def test_queued_increments_share_compare_and_sets(aiohttp_server, client, redis_url, store) -> None:  # type: ignore[no-untyped-def]
    """100 concurrent increments on one node: all count, each answer is its own step, few CAS reach Redis."""
    burst = await burst_on_one_node(aiohttp_server, client, redis_url, store)
    saves = burst.calls.get("evalsha", 0) + burst.calls.get("eval", 0)
    assert sorted(burst.answers) == list(range(1, CONCURRENT + 1))  # linearizable: every reply shows its own step
    assert (await me(burst.browser, burst.node, headers={TOKEN_HEADER: burst.token}))[1]["counter"] == CONCURRENT
    assert burst.app[CONFLICTS].value == 0
    if store == "redis":
        assert saves < CONCURRENT / 4, f"{saves} compare-and-sets for {CONCURRENT} queued writes"


async def test_batches_conflicting_across_nodes_lose_no_increment(aiohttp_server, client, redis_url) -> None:  # type: ignore[no-untyped-def]
    """Three nodes, one Redis, a burst on each: their batches conflict, every member merges, nothing is lost."""
    apps = [create_app(NodeSettings.from_env({"SESSION_STORE": "redis", "REDIS_URL": redis_url})) for _ in range(3)]
    nodes = [str((await aiohttp_server(app)).make_url("")).rstrip("/") for app in apps]
    browser = client(cookies=False)
    token = await app_login(browser, nodes[0])
    bursts = [increment_concurrently(browser, [node], token) for node in nodes]
    answers = [value for burst in await asyncio.gather(*bursts) for value in burst]
    assert sorted(answers) == list(range(1, 3 * CONCURRENT + 1))
    assert (await me(browser, nodes[2], headers={TOKEN_HEADER: token}))[1]["counter"] == 3 * CONCURRENT
    assert sum(app[CONFLICTS].value for app in apps) > 0, "the bursts never overlapped: nothing was merged"


LAST_REQUESTS = [  # what queues behind the increments, its body, its status, then /me's status with the old token
    ("/logout", None, 200, 401),
    ("/logout-all", None, 200, 401),
    ("/login", {"user": "ann"}, 200, 401),  # a new session id: the old one is discarded
    ("/cart/items", None, 400, 200),  # loads the session, then fails on its body: saves nothing
]


@pytest.mark.parametrize(("last", "body", "status", "after"), LAST_REQUESTS)
async def test_writes_queued_before_another_request_are_stored_first(  # type: ignore[no-untyped-def]
    aiohttp_server, client, redis_url, last, body, status, after
) -> None:
    """Increments queued, then a logout (or a login, or a failing request) behind them: the increments answer
    200 with their own step, and were stored before the last request ended (or left) the session."""
    q = await increments_behind_a_hold(aiohttp_server, client, redis_url, 20)
    node, hold, browser, token = q.node, q.hold, q.browser, q.token
    ending = queue(browser, f"{node}{last}", token, body=body)
    await eventually(lambda: hold.queued() == 21, WAIT, "the last request queued")
    hold.released.set()
    results = await asyncio.gather(*q.held, *q.increments, *ending)
    assert [status for status, _, _ in results[:-1]] == [200] * 21
    assert [body["counter"] for _, body, _ in results[:-1]] == list(range(1, 22))
    assert results[-1][0] == status
    seen, session = await me(browser, node, headers={TOKEN_HEADER: token})
    assert seen == after
    assert seen == 401 or session["counter"] == 21


async def test_a_redis_outage_fails_every_member_of_a_pending_batch(  # type: ignore[no-untyped-def]
    aiohttp_server, client, redis_url, redis_server: RedisServer
) -> None:
    """Redis dies while a batch waits: every member answers 503 within the Redis timeout, none hangs."""
    q = await increments_behind_a_hold(aiohttp_server, client, redis_url, 20, REDIS_TIMEOUT="0.5")
    node, browser = q.node, q.browser
    redis_server.kill()
    released = time.monotonic()
    q.hold.released.set()
    results = await asyncio.wait_for(asyncio.gather(*q.held, *q.increments), WAIT)
    assert [status for status, _, _ in results] == [503] * 21
    assert all(body == {"error": "session store unavailable"} for _, body, _ in results)
    assert max(at for _, _, at in results) - released < 0.5 + 0.5  # REDIS_TIMEOUT, plus a margin
    redis_server.start()
    token = await app_login(browser, node)  # no persistence: the session died with Redis; service resumes
    await increment_concurrently(browser, [node], token)
    assert (await me(browser, node, headers={TOKEN_HEADER: token}))[1]["counter"] == CONCURRENT


async def test_a_batch_whose_next_writer_stalls_is_committed_by_a_timer(  # type: ignore[no-untyped-def]
    aiohttp_server, client, redis_url
) -> None:
    """The write that inherited a batch stalls: a timer commits the batch after a bound, its members
    answer; the stalled write, once it goes on, conflicts with them and merges. Nobody waits forever."""
    q = await increments_behind_a_hold(aiohttp_server, client, redis_url, 1)
    node, hold, app, browser, token = q.node, q.hold, q.app, q.browser, q.token
    stalled = app[HOLD_AGAIN]
    members = q.held + q.increments
    last = queue(browser, f"{node}/hold-again", token)
    await eventually(lambda: hold.queued() == 2, WAIT, "the stalling write queued")
    hold.released.set()
    answered = await asyncio.wait_for(asyncio.gather(*members), WAIT)  # while the last write still stalls
    assert [(status, body["counter"]) for status, body, _ in answered] == [(200, 1), (200, 2)]
    assert stalled.slot is not None and not last[0].done()
    stalled.released.set()
    status, body, _ = await asyncio.wait_for(last[0], WAIT)
    assert (status, body["counter"]) == (200, 3)  # built on the batch, stored after it: merged, nothing lost
    assert (await me(browser, node, headers={TOKEN_HEADER: token}))[1]["counter"] == 3
    assert app[CONFLICTS].value == 1
