"""A request a long-lived connection makes on its client's behalf (a WebSocket's `incr` is a `POST /counter`),
run through this node's whole handler chain: the same store, write queue, merge on conflict and answer as if the
client had sent it. aiohttp-session saves only a `web.Response`, never a WebSocket, so this is how its writes
are saved at all.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

from aiohttp import hdrs, web
from multidict import CIMultiDict

from nodes.keys import STORE


class InnerClient:
    """Sends requests for one long-lived connection, carrying the session reference that its answers re-issue
    (the cookie store re-encrypts the whole session into every answer's cookie)."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self._headers = CIMultiDict(request.headers)
        for name in (hdrs.CONNECTION, hdrs.UPGRADE, hdrs.SEC_WEBSOCKET_KEY, hdrs.SEC_WEBSOCKET_VERSION):
            self._headers.popall(name, None)

    async def post(self, path: str) -> tuple[int, dict[str, Any]]:
        """Status and JSON body of `POST path`."""
        request = self._request
        inner = request.clone(method="POST", rel_url=path, headers=self._headers)
        for key in list(inner):  # a fresh request: no session loaded, no changes recorded yet
            del inner[key]
        response = await request.app._handle(inner)
        self._carry_reference(response)
        body = response.body if isinstance(response, web.Response) else None
        return response.status, json.loads(body) if isinstance(body, bytes) and body else {}

    def _carry_reference(self, response: web.StreamResponse) -> None:
        transport = self._request.app[STORE].transport
        if transport.header_name in self._headers:
            token = response.headers.get(transport.header_name)
            if token:
                self._headers[transport.header_name] = token
            return
        morsel = response.cookies.get(transport.cookie_name)
        if morsel is not None and morsel.value:
            cookies = SimpleCookie(self._headers.get(hdrs.COOKIE, ""))
            cookies[transport.cookie_name] = morsel.value
            self._headers[hdrs.COOKIE] = "; ".join(f"{key}={item.value}" for key, item in cookies.items())
