"""The data path, top to bottom: pick a node → rewrite headers → stream the request → stream the response →
map upstream failures to small JSON errors.

Modelled on Go's httputil.ReverseProxy. Everything about *which* node lives in `balancer.routing`; this module
is the only one (with app.py) that knows aiohttp's server objects, so it can be swapped for a leaner forwarder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiohttp
from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from balancer.cookies import without_cookie
from balancer.routing import NoHealthyUpstream, Route, Router, RouteRequest
from balancer.settings import BalancerSettings
from balancer.upstreams import Upstream

log = logging.getLogger("balancer.proxy")

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded (plus whatever `Connection` names).
HOP_BY_HOP = frozenset(
    ("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te")
    + ("trailer", "transfer-encoding", "upgrade")
)
# What a client says about where it came from is not trusted: the balancer sets these itself.
CLIENT_FORWARDING = frozenset(("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"))
# The balancer's server has already answered `Expect: 100-continue`; the node must not wait for it again.
ANSWERED_HERE = frozenset(("expect",))
IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))
# Never add headers the client did not send (aiohttp's client would add these).
SKIP_AUTO_HEADERS = (hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.USER_AGENT, hdrs.CONTENT_TYPE)


@dataclass(frozen=True, slots=True)
class Failure:
    """One kind of upstream failure, as the client sees it."""

    status: int
    reason: str  # also the X-Balancer-Error header value
    detail: str


NO_HEALTHY = Failure(503, "no_healthy_upstream", "no healthy node is available")
UNREACHABLE = Failure(502, "upstream_unreachable", "the node refused the connection or could not be reached")
CONNECT_TIMEOUT = Failure(504, "upstream_connect_timeout", "the node did not accept the connection in time")
DISCONNECTED = Failure(502, "upstream_disconnected", "the node closed or reset the connection before answering")
TIMEOUT = Failure(504, "upstream_timeout", "the node did not answer in time")
BAD_RESPONSE = Failure(502, "upstream_bad_response", "the node sent a response that is not valid HTTP")
UPLOAD_ABORTED = Failure(400, "client_upload_aborted", "the request body ended before it was complete")


class UpstreamFailed(Exception):
    """Forwarding to a node failed before any of its response reached the client."""

    def __init__(self, failure: Failure, *, retryable: bool) -> None:
        super().__init__(failure.reason)
        self.failure = failure
        self.retryable = retryable


class Proxy:
    """Forwards every request that is not the balancer's own to the node the router picks."""

    def __init__(self, settings: BalancerSettings, router: Router) -> None:
        self._settings = settings
        self._router = router
        self._session_header = settings.session_header
        self._hidden_cookie = router.policy.affinity_cookie
        self._client: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._client = upstream_client(self._settings)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Route, forward, and retry once on another node when the first could not have seen the request."""
        cookie = "; ".join(request.headers.getall(hdrs.COOKIE, ()))
        view = RouteRequest(cookie, request.headers.get(self._session_header))
        headers = upstream_request_headers(request, self._hidden_cookie)
        body = request.content if request.body_exists else None
        failure, failed = NO_HEALTHY, None
        for _attempt in range(2):
            try:
                route = self._router.route(view, exclude=failed)
            except NoHealthyUpstream:
                break
            try:
                return await self._forward(request, route, headers, body)
            except UpstreamFailed as exc:
                failure, failed = exc.failure, route.upstream
                if not exc.retryable:
                    break
        return error_response(failure)

    async def _forward(
        self, request: web.Request, route: Route, headers: CIMultiDict[str], body: aiohttp.StreamReader | None
    ) -> web.StreamResponse:
        upstream = route.upstream
        assert self._client is not None, "Proxy.start() was not awaited"
        url = URL(upstream.url + request_target(request), encoded=True)  # encoded: the path goes out as sent
        upstream.in_flight += 1
        try:
            try:
                upstream_response = await self._client.request(
                    request.method, url, headers=headers, data=body, allow_redirects=False
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise self._failed(upstream, exc, request.method, body) from None
            upstream.served += 1
            async with upstream_response:
                return await self._relay(request, upstream_response, route)
        finally:
            upstream.in_flight -= 1

    async def _relay(
        self, request: web.Request, upstream_response: aiohttp.ClientResponse, route: Route
    ) -> web.StreamResponse:
        """Send the node's status, headers and body to the client as they arrive."""
        response = web.StreamResponse(
            status=upstream_response.status,
            reason=upstream_response.reason,
            headers=client_response_headers(upstream_response.headers),
        )
        if route.set_cookie is not None:
            add_affinity_cookie(response.headers, route.set_cookie)
        content = upstream_response.content
        try:
            await response.prepare(request)
            while True:
                try:
                    chunk = await content.readany()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self._broken_mid_body(request, route.upstream, exc)
                    return response
                if not chunk:
                    break
                await response.write(chunk)
            await response.write_eof()
        except ConnectionResetError:  # the client went away; aiohttp closes its side, we drop the node's
            log.debug("client %s went away during the response", request.remote)
        return response

    def _failed(
        self, upstream: Upstream, exc: BaseException, method: str, body: aiohttp.StreamReader | None
    ) -> UpstreamFailed:
        """Classify a failure to get a response; eject the node if it could not even be connected to."""
        if isinstance(exc, aiohttp.UploadAbortedError) or (body is not None and body.exception() is not None):
            log.debug("client broke off its upload to %s", upstream.url)  # not the node's fault
            return UpstreamFailed(UPLOAD_ABORTED, retryable=False)
        failure, unreachable = classify(exc)
        upstream.failures += 1
        log.warning("upstream %s: %s (%s)", upstream.url, failure.reason, type(exc).__name__)
        if unreachable:
            self._router.registry.mark_down(upstream, failure.reason)
        # Nothing reached a node that could not be connected to; a body-less idempotent request can be replayed.
        replayable = failure is DISCONNECTED and method in IDEMPOTENT and body is None
        return UpstreamFailed(failure, retryable=unreachable or replayable)

    def _broken_mid_body(self, request: web.Request, upstream: Upstream, exc: BaseException) -> None:
        """The node failed after its headers went out: cut the client's connection so it cannot take a
        truncated body for a complete one."""
        upstream.failures += 1
        log.warning("upstream %s failed mid-response: %s", upstream.url, type(exc).__name__)
        if request.transport is not None:
            request.transport.close()


def classify(exc: BaseException) -> tuple[Failure, bool]:
    """(what the client is told, whether the node was unreachable) for an exception from the aiohttp client."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return CONNECT_TIMEOUT, True
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UNREACHABLE, True
    if isinstance(exc, TimeoutError):
        return TIMEOUT, False
    if isinstance(exc, aiohttp.ClientResponseError):
        return BAD_RESPONSE, False
    return DISCONNECTED, False


def upstream_client(settings: BalancerSettings) -> aiohttp.ClientSession:
    """The pooled client to the nodes, configured to change nothing on the way through."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=settings.max_connections, limit_per_host=0),
        cookie_jar=aiohttp.DummyCookieJar(),  # a real jar would hand one client's session cookie to the next
        auto_decompress=False,  # bytes pass untouched, so Content-Encoding stays true
        skip_auto_headers=SKIP_AUTO_HEADERS,
        timeout=aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
        ),
    )


def hop_by_hop(headers: CIMultiDictProxy[str]) -> frozenset[str]:
    """The fixed hop-by-hop names plus every header that this message's `Connection` names (lower case)."""
    named = headers.getall(hdrs.CONNECTION, ())
    if not named:
        return HOP_BY_HOP
    return HOP_BY_HOP | {token.strip().lower() for value in named for token in value.split(",")}


def upstream_request_headers(request: web.Request, hidden_cookie: str | None) -> CIMultiDict[str]:
    """The client's end-to-end headers (every repeat kept, in order) plus the balancer's X-Forwarded-*."""
    incoming = request.headers
    dropped = hop_by_hop(incoming) | CLIENT_FORWARDING | ANSWERED_HERE
    headers = CIMultiDict((name, value) for name, value in incoming.items() if name.lower() not in dropped)
    if hidden_cookie is not None and hdrs.COOKIE in headers:
        cookie = without_cookie("; ".join(headers.popall(hdrs.COOKIE)), hidden_cookie)
        if cookie:
            headers[hdrs.COOKIE] = cookie
    forwarded_for = [*incoming.getall(hdrs.X_FORWARDED_FOR, ()), *([request.remote] if request.remote else [])]
    if forwarded_for:
        headers[hdrs.X_FORWARDED_FOR] = ", ".join(forwarded_for)
    headers[hdrs.X_FORWARDED_PROTO] = request.scheme
    if hdrs.HOST in incoming:
        headers[hdrs.X_FORWARDED_HOST] = incoming[hdrs.HOST]
    return headers


def request_target(request: web.Request) -> str:
    """Path and query exactly as the client sent them (origin form; an absolute-form target is reduced)."""
    raw = request.raw_path
    return raw if raw.startswith("/") else request.rel_url.raw_path_qs


def client_response_headers(upstream_headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """The node's end-to-end headers, every repeat kept (several Set-Cookie are normal)."""
    dropped = hop_by_hop(upstream_headers)
    return CIMultiDict((name, value) for name, value in upstream_headers.items() if name.lower() not in dropped)


def add_affinity_cookie(headers: CIMultiDict[str], set_cookie: str) -> None:
    """Add the affinity cookie and, like HAProxy's `nocache`, keep shared caches from handing it to others."""
    headers.add(hdrs.SET_COOKIE, set_cookie)
    cache_control = ",".join(headers.getall(hdrs.CACHE_CONTROL, ())).lower()
    if not any(directive in cache_control for directive in ("private", "no-store", "no-cache")):
        headers.add(hdrs.CACHE_CONTROL, "private")


def error_response(failure: Failure) -> web.Response:
    """A small JSON error that says why, with `X-Balancer-Error` for scripts; never a traceback."""
    return web.json_response(
        {"error": failure.reason, "detail": failure.detail},
        status=failure.status,
        headers={"X-Balancer-Error": failure.reason},
    )
