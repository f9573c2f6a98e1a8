"""Tiny session clients for the balancer tests: a browser (cookie jar) and an app (X-Session-Token), over loopback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from http.cookiejar import CookieJar

import pytest

from loadtest.lab.balancers import BALANCERS
from loadtest.lab.probe import Answer, request
from nodes.contract.names import NODE_ID_HEADER, REQUEST_ID_HEADER, TOKEN_HEADER


def header(answer: Answer, name: str) -> str | None:
    """A header whatever its case (HAProxy sends names in lower case)."""
    return next((v for k, v in answer.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Client:
    """One user: logs in, then reads its session; counts misses (401) and the nodes that answered."""

    base: str
    app: bool = False
    jar: CookieJar = field(default_factory=CookieJar)
    token: str = ""
    misses: int = 0
    hits: int = 0
    errors: int = 0
    nodes: list[str] = field(default_factory=list)
    error_statuses: list[int | None] = field(default_factory=list)

    def call(self, method: str, path: str, body: object = None) -> Answer:
        headers = {REQUEST_ID_HEADER: uuid.uuid4().hex}
        if self.app:
            headers[TOKEN_HEADER] = self.token
        answer = request(method, self.base + path, json_body=body, headers=headers,
                         jar=None if self.app else self.jar, timeout=5.0)  # fmt: skip
        if self.app and header(answer, TOKEN_HEADER):
            self.token = str(header(answer, TOKEN_HEADER))
        node = header(answer, NODE_ID_HEADER)
        if node:
            self.nodes.append(node)
        return answer

    def login(self) -> bool:
        self.token = ""
        return self.call("POST", "/login", {"user": f"u-{uuid.uuid4().hex[:8]}"}).status == 200

    def read(self) -> int | None:
        """GET /me: counts a hit, a miss (then logs in again) or an error."""
        status = self.call("GET", "/me").status
        if status == 200:
            self.hits += 1
        elif status == 401:
            self.misses += 1
            self.login()
        else:
            self.errors += 1
            self.error_statuses.append(status)
        return status


def installed(name: str) -> None:
    """Skip the test when the balancer's binary is not on this machine, with the line that says what installs it."""
    missing = BALANCERS[name].missing()
    if missing:
        pytest.skip(missing)


def ring_shares(base: str, probes: int) -> dict[str, float]:
    """Each node's share of the key space of a hash mode, measured on the running balancer's own ring: `probes`
    distinct session tokens, each sent once (GET /healthz), counted by the node that answered."""
    counts: dict[str, int] = {}
    for index in range(probes):
        answer = request("GET", f"{base}/healthz", headers={TOKEN_HEADER: f"ring-probe-{index}"}, timeout=5.0)
        node = header(answer, NODE_ID_HEADER) or "(none)"
        counts[node] = counts.get(node, 0) + 1
    return {node: count / probes for node, count in counts.items()}
