"""The runtime API: add, remove, drain and re-admit nodes while the balancer runs (HAProxy's runtime API and
`set server <b>/<s> state drain|ready` are the model).

    POST   /_balancer/upstreams        {"url": "http://host:port"}   add (health-checked before it gets traffic; the
                                                                  answer waits for that first check and reports it)
    DELETE /_balancer/upstreams        {"url": ...}                  remove (a non-member: removed false)
    POST   /_balancer/upstreams/drain  {"url": ...}                  no new clients
    POST   /_balancer/upstreams/ready  {"url": ...}                  new clients again

Only with BALANCER_ADMIN_TOKEN set, and only with `Authorization: Bearer <token>` (compared in constant time; a
missing or wrong token is a 401 that changes nothing). Bodies are small JSON objects read by the balancer itself:
these paths are never proxied, so no node can see or answer them.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from balancer.errors import Failure
from balancer.http1 import Headers
from balancer.reader import LocalAnswer, LocalRequest
from balancer.settings import node_origin
from balancer.upstreams import Upstream, UpstreamRegistry
from nodes.contract.envconfig import Secret
from nodes.contract.names import BALANCER_STATUS_PATH, BALANCER_UPSTREAMS_PATH

UPSTREAMS_PATH = BALANCER_UPSTREAMS_PATH.encode()  # matched against the raw request path: bytes, encoded once
DRAIN_PATH = UPSTREAMS_PATH + b"/drain"
READY_PATH = UPSTREAMS_PATH + b"/ready"
PATHS = frozenset((UPSTREAMS_PATH, DRAIN_PATH, READY_PATH))
ADD_CALL = (b"POST", UPSTREAMS_PATH)  # answered once the new node's first health check is over

_JSON = (b"Content-Type", b"application/json; charset=utf-8")
UNAUTHORIZED = Failure(401, "unauthorized", "send Authorization: Bearer <BALANCER_ADMIN_TOKEN>")
METHOD_NOT_ALLOWED = Failure(405, "method_not_allowed", "see the runtime API in docs/balancer.md")

Answer = LocalAnswer
ADDED = "added; waiting for its first health check"
ADD_WAIT = 2.0  # seconds an add answer waits for the new node's first check before it answers "waiting"


class BadInput(ValueError):
    """A runtime call the balancer cannot carry out; the message is the 400's reason."""


class RuntimeApi:
    """Answers the runtime calls; `check_soon` runs a health check of a node now (a new node waits for it) and
    gives its outcome: why it failed, or None."""

    def __init__(
        self, registry: UpstreamRegistry, token: Secret, check_soon: Callable[[Upstream], Awaitable[str | None]]
    ) -> None:
        self._registry = registry
        self._token = token.reveal().encode()
        self._check_soon = check_soon
        self._actions: dict[tuple[bytes, bytes], Callable[[str], dict[str, Any]]] = {
            (b"DELETE", UPSTREAMS_PATH): self.remove,
            (b"POST", DRAIN_PATH): self.drain,
            (b"POST", READY_PATH): self.ready,
        }

    def answer(self, request: LocalRequest) -> Answer | Awaitable[Answer]:
        """One runtime call: 401 unless authorized, 405 for a wrong method, 400 for a bad body, else 200 (for a new
        node, once its first health check is over)."""
        if not self._authorized(request.headers):
            status, headers, body = UNAUTHORIZED.parts()
            return status, [*headers, (b"WWW-Authenticate", b'Bearer realm="balancer"')], body
        call = (request.method, request.path)
        action = self._actions.get(call)
        if action is None and call != ADD_CALL:
            return METHOD_NOT_ALLOWED.parts()
        try:
            url = requested_url(request.body)
            return self.add(url) if action is None else _ok(action(url))
        except BadInput as error:
            return Failure(400, "bad_runtime_request", str(error)).parts()

    def add(self, url: str) -> Answer | Awaitable[Answer]:
        """Idempotent: a node already there is left as it is; a new one is answered after its first check."""
        existing = self._registry.get(url)
        if existing is None:
            return self._add_and_check(url)
        return _ok({"url": url, "state": existing.state, "added": False, "message": "already a member"})

    async def _add_and_check(self, url: str) -> Answer:
        """Add the node and answer once its first health check is over (or ADD_WAIT passed), with what it found."""
        upstream = self._registry.add(url)
        check = asyncio.ensure_future(self._check_soon(upstream))
        try:
            problem = await asyncio.wait_for(asyncio.shield(check), ADD_WAIT)
        except TimeoutError:
            message, outcome = f"{ADDED}: GET {BALANCER_STATUS_PATH} shows its state", "pending"
        else:
            outcome = "passed" if problem is None else f"failed: {problem}"
            message = "added; its first health check " + (
                "passed: it gets new clients now"
                if problem is None
                else f"failed ({problem}): it gets traffic once a check passes"
            )
        return _ok({"url": url, "state": upstream.state, "added": True, "message": message, "check": outcome})

    def remove(self, url: str) -> dict[str, Any]:
        """Idempotent: a node that is not a member (already removed) is left out, `removed: false`."""
        upstream = self._registry.get(url)
        if upstream is not None:
            self._registry.remove(upstream)
        return {"url": url, "removed": upstream is not None}

    def drain(self, url: str) -> dict[str, Any]:
        upstream = self._known(url)
        self._registry.set_draining(upstream, True)
        return {"url": url, "state": upstream.state}

    def ready(self, url: str) -> dict[str, Any]:
        upstream = self._known(url)
        self._registry.set_draining(upstream, False)
        return {"url": url, "state": upstream.state}

    def _known(self, url: str) -> Upstream:
        upstream = self._registry.get(url)
        if upstream is None:
            raise BadInput(f"unknown upstream {url}: GET /_balancer/status lists them")
        return upstream

    def _authorized(self, headers: Headers) -> bool:
        given = [value for name, value in headers if name.lower() == b"authorization"]
        if len(given) != 1:
            return False
        scheme, _, credentials = given[0].strip().partition(b" ")
        # Compared in constant time whatever it holds (the token's length aside), and never logged.
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._token)


def _ok(result: dict[str, Any]) -> Answer:
    return 200, [_JSON], json.dumps(result).encode()


def requested_url(body: bytes | None) -> str:
    """The normalized node URL of a runtime call's body `{"url": "http://host:port"}`."""
    if body is None:
        raise BadInput('the body is too large: expected {"url": "http://host:port"}')
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadInput('the body is not JSON: expected {"url": "http://host:port"}') from None
    url = document.get("url") if isinstance(document, dict) else None
    if not isinstance(url, str):
        raise BadInput('the body has no "url" string: expected {"url": "http://host:port"}')
    try:
        return node_origin(url)
    except ValueError as error:
        raise BadInput(f"url {error}") from None
