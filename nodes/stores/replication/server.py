"""The peer endpoints under REPLICATION_PREFIX, and the replication lifecycle of a node's app.

Every endpoint authenticates first (see wire.py): a refused request is answered 401/400 with a short JSON
reason, logged with the caller's address and the reason (never the secret or signature), counted, and nothing
in it is applied. The balancer refuses this prefix, so only peers reach these endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from nodes.contract.names import REPLICATION_PREFIX
from nodes.stores.replication.liveness import Liveness
from nodes.stores.replication.replicator import Replicator
from nodes.stores.replication.wire import (
    MAX_BODY,
    Delete,
    Op,
    Put,
    Refused,
    Verifier,
    decode_entry,
    decode_message,
    encode_op,
    optional_user,
    parse_json,
    session_id,
    stored_form,
)

log = logging.getLogger("nodes.stores.replication")

REPLICATOR = web.AppKey("replicator", Replicator)
LIVENESS = web.AppKey("liveness", Liveness)
VERIFIER = web.AppKey("verifier", Verifier)

PeerHandler = Callable[[web.Request, bytes], Awaitable[dict[str, Any]]]


def authenticated(handler: PeerHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Check the signature before anything else; refusals never reach `handler`."""

    async def checked(request: web.Request) -> web.Response:
        replicator = request.app[REPLICATOR]
        try:
            body = await _body(request)
            request.app[VERIFIER].check(request.headers, request.method, request.path_qs, body)
            answer = await handler(request, body)
        except Refused as exc:
            replicator.stats.refused += 1
            log.warning("refused %s %s from %s: %s", request.method, request.path, request.remote, exc.reason)
            return web.json_response({"error": exc.reason}, status=exc.status)
        return web.json_response({"node": replicator.node_id, **answer})

    return checked


async def _body(request: web.Request) -> bytes:
    """The whole body, refused past MAX_BODY before it is all buffered (authentication comes after)."""
    if (request.content_length or 0) > MAX_BODY:
        raise Refused(400, "replication body too large")
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(400, "replication body too large")
    return bytes(body)


@authenticated
async def ping(request: web.Request, body: bytes) -> dict[str, Any]:
    replicator = request.app[REPLICATOR]
    caller = request.query.get("from")
    if caller and caller != replicator.node_id and caller not in replicator.membership.members():
        request.app[LIVENESS].poke()  # a node we do not know yet: find it now, not at the next heartbeat
    return {"ready": replicator.ready}


@authenticated
async def apply(request: web.Request, body: bytes) -> dict[str, Any]:
    _, ops = decode_message(body)
    return {"applied": request.app[REPLICATOR].apply(ops)}


@authenticated
async def compare_and_set(request: web.Request, body: bytes) -> dict[str, Any]:
    replicator = request.app[REPLICATOR]
    data = parse_json(body)
    target, origin, expected = session_id(data.get("id")), data.get("from"), data.get("expected")
    payload, _ = stored_form(data.get("payload"))
    user = optional_user(data.get("user"))
    if not isinstance(origin, str) or isinstance(expected, bool) or not isinstance(expected, int):
        raise Refused(400, "a forwarded write needs 'from' (string) and 'expected' (integer version)")
    if isinstance(data.get("base"), dict):
        replicator.table.apply(target, decode_entry(data["base"]))
    outcome = await replicator.decide(target, expected, payload, user, origin=origin)
    entry = replicator.table.get(target, slide=False)
    return {"outcome": outcome, "entry": encode_op(Put(target, entry)) if entry else None}


@authenticated
async def session(request: web.Request, body: bytes) -> dict[str, Any]:
    replicator = request.app[REPLICATOR]
    target = session_id(request.match_info["session_id"])
    entry = replicator.table.get(target)  # asked for: in use, so its idle timeout slides here too
    return {"entry": encode_op(Put(target, entry)) if entry else None}


@authenticated
async def snapshot(request: web.Request, body: bytes) -> dict[str, Any]:
    """Every session and tombstone held here, as one message body (a start-up pull)."""
    replicator = request.app[REPLICATOR]
    ops: list[Op] = [Put(sid, entry) for sid, entry in replicator.table.items()]
    ops += [Delete(sid) for sid, _ in replicator.table.tombstones()]
    return {"ops": [encode_op(op) for op in ops]}


@authenticated
async def stats(request: web.Request, body: bytes) -> dict[str, Any]:
    replicator = request.app[REPLICATOR]
    replicator.stats.queued = replicator.delivery.queued()
    peers = replicator.membership.peers()
    return replicator.stats.as_json(
        scope=replicator.scope,
        mode=replicator.delivery.mode,
        sessions=len(replicator.table),
        peers_total=len(peers),
        peers_live=len(replicator.membership.live()),
        members=replicator.membership.members(),
    )


def install(app: web.Application, replicator: Replicator, liveness: Liveness, secret: bytes) -> None:
    """Add the peer endpoints and the replication lifecycle (client, heartbeats, start-up pull) to a node's app."""
    app[REPLICATOR] = replicator
    app[LIVENESS] = liveness
    app[VERIFIER] = Verifier(secret)
    prefix = REPLICATION_PREFIX
    app.router.add_get(prefix + "ping", ping)
    app.router.add_post(prefix + "apply", apply)
    app.router.add_post(prefix + "cas", compare_and_set)
    app.router.add_get(prefix + "session/{session_id}", session)
    app.router.add_get(prefix + "snapshot", snapshot)
    app.router.add_get(prefix + "stats", stats)
    app.cleanup_ctx.append(_lifecycle)


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    replicator, liveness = app[REPLICATOR], app[LIVENESS]
    await replicator.client.open()
    task = asyncio.get_running_loop().create_task(liveness.run(), name="replication-liveness")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await liveness.close()
    await replicator.delivery.close()
    await replicator.client.close()
