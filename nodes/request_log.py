"""NODE_REQUEST_LOG: the request id (X-Request-Id) of every POST, appended to a file as it arrives.

The lab reads every node's file after a run: an id found twice is a POST that reached the nodes twice, i.e. a
balancer replayed it. One unbuffered append per POST, written before the handler runs, so a node SIGKILLed in the
middle of the request has already recorded it.
"""

from __future__ import annotations

import os

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from nodes.contract.names import REQUEST_ID_HEADER


def request_log_middleware(path: str) -> Middleware:
    """A middleware that appends each POST's request id to `path` (created if missing)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = request.headers.get(REQUEST_ID_HEADER)
        if request.method == "POST" and request_id:
            os.write(fd, request_id.encode(errors="replace")[:128] + b"\n")
        return await handler(request)

    return record
