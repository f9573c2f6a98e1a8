"""What the client is told when the balancer cannot give it the node's answer: a small JSON body that says why,
with `X-Balancer-Error` for scripts, and never a traceback or an echo of what the client sent."""

from __future__ import annotations

import json
from dataclasses import dataclass

from balancer.http1 import Headers, message
from nodes.contract.names import HEAD_TOO_LARGE_DETAIL, HEAD_TOO_LARGE_ERROR


@dataclass(frozen=True, slots=True)
class Failure:
    """One kind of failure, as the client sees it."""

    status: int
    reason: str  # also the X-Balancer-Error header value
    detail: str

    def parts(self) -> tuple[int, Headers, bytes]:
        """Status, headers and body of the answer."""
        headers = [(b"Content-Type", b"application/json; charset=utf-8"), (b"X-Balancer-Error", self.reason.encode())]
        return self.status, headers, json.dumps({"error": self.reason, "detail": self.detail}).encode()

    def response(self, *, close: bool) -> bytes:
        return message(*self.parts(), close=close)


NO_HEALTHY = Failure(503, "no_healthy_upstream", "no healthy node is available")
UNREACHABLE = Failure(502, "upstream_unreachable", "the node refused the connection or could not be reached")
CONNECT_TIMEOUT = Failure(504, "upstream_connect_timeout", "the node did not accept the connection in time")
DISCONNECTED = Failure(502, "upstream_disconnected", "the node closed or reset the connection before answering")
TIMEOUT = Failure(504, "upstream_timeout", "the node did not answer in time")
BAD_RESPONSE = Failure(502, "upstream_bad_response", "the node sent a response that is not valid HTTP")
UPLOAD_ABORTED = Failure(400, "client_upload_aborted", "the request body ended before it was complete")
BAD_REQUEST = Failure(400, "bad_request", "the request is not valid HTTP/1.1")
HEAD_TOO_LARGE = Failure(431, HEAD_TOO_LARGE_ERROR, HEAD_TOO_LARGE_DETAIL)
NOT_FOUND = Failure(404, "not_found", "the balancer's own endpoints are /_balancer/status and /_balancer/metrics")


class UpstreamError(Exception):
    """Getting a response from a node failed; `unreachable` when the node could not even be connected to."""

    def __init__(self, failure: Failure, *, unreachable: bool = False) -> None:
        super().__init__(failure.reason)
        self.failure = failure
        self.unreachable = unreachable
