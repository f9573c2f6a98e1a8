"""Request heads over the limits get the balancer's JSON 431 from a node too, with X-Node-Id and no echo.

aiohttp's parser answers a header line over its limit (8,190 bytes by default) with a text/plain 400 that quotes
the line (session references included) and no X-Node-Id; that answer is made outside the application, where no
middleware can reword it. So the node's parser gets room (PARSER_LINE_ROOM per line, PARSER_HEADERS_ROOM headers)
and `refuse_large_heads` applies the real limits, the balancer's (HEAD_LINE_LIMIT, HEAD_FIELDS_LIMIT), with a 431.
Measured on a node: a 10 KB and a 60 KB cookie, 130 headers and a 9 KB URL each get the JSON 431; only a single
line over 64 KiB still meets aiohttp's own 400 (which quotes its first 100 bytes).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from nodes.contract.names import (
    HEAD_FIELDS_LIMIT,
    HEAD_LINE_LIMIT,
    HEAD_TOO_LARGE_DETAIL,
    HEAD_TOO_LARGE_ERROR,
    NODE_ID_HEADER,
)

PARSER_LINE_ROOM = 64 * 1024
PARSER_HEADERS_ROOM = 256
REQUEST_LINE_OVERHEAD = 16  # "GET " and " HTTP/1.1": counted as the balancer counts them


def too_large(request: web.BaseRequest) -> bool:
    """Whether the request line or a header line passes HEAD_LINE_LIMIT, or there are too many headers."""
    headers = request.raw_headers
    if len(headers) > HEAD_FIELDS_LIMIT or len(request.raw_path) + REQUEST_LINE_OVERHEAD > HEAD_LINE_LIMIT:
        return True
    return any(len(name) + 2 + len(value) > HEAD_LINE_LIMIT for name, value in headers)


def refuse_large_heads(node_id: str) -> Middleware:
    """The outermost middleware: an oversized head is answered before any session is loaded."""

    @web.middleware
    async def refuse(request: web.Request, handler: Handler) -> web.StreamResponse:
        if too_large(request):
            response = web.json_response({"error": HEAD_TOO_LARGE_ERROR, "detail": HEAD_TOO_LARGE_DETAIL}, status=431)
            response.headers[NODE_ID_HEADER] = node_id
            response.force_close()
            return response
        return await handler(request)

    return refuse
