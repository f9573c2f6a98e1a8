"""After the load of a cell with balancer replicas: affinity agreement, the share of sessions that every replica
sends to the same node.

Each probe session logs in through one replica (in turn), then reads its session once through every replica with
the same cookies (a browser) or token (an app client), as a client whose connections land on either replica (DNS
round robin, an L4 balancer in front) would. The nodes the answers name are compared; a miss does not matter here:
the question is only where each replica sends the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from http.cookiejar import CookieJar
from typing import Any

from loadtest.lab.probe import request
from nodes.contract.names import NO_TOKEN_YET, NODE_ID_HEADER, TOKEN_HEADER

SESSIONS = 20  # probe sessions per user kind
TIMEOUT = 3.0


def measure(urls: Sequence[str], sessions: int = SESSIONS) -> dict[str, Any]:
    """Affinity agreement of browsers (`affinity_agreement`) and app clients, over `sessions` sessions each."""
    found: dict[str, Any] = {"affinity_replicas": len(urls), "affinity_sessions": sessions}
    for kind, key in (("browser", "affinity_agreement"), ("app", "affinity_agreement_app")):
        outcomes = [placed(urls, index, app=kind == "app") for index in range(sessions)]
        answered = [nodes for nodes in outcomes if nodes is not None]
        found[key] = round(sum(len(set(nodes)) == 1 for nodes in answered) / len(answered), 4) if answered else None
        found[f"{key}_unanswered"] = len(outcomes) - len(answered)
    return found


def placed(urls: Sequence[str], index: int, *, app: bool) -> list[str] | None:
    """The node each replica sent one new session's read to (None when a login or read got no node's answer)."""
    jar, token = CookieJar(), NO_TOKEN_YET
    login = request("POST", f"{urls[index % len(urls)]}/login", json_body={"user": f"agreement-{index}"},
                    headers={TOKEN_HEADER: token} if app else None, jar=None if app else jar,
                    timeout=TIMEOUT)  # fmt: skip
    token = login.header(TOKEN_HEADER) or ""
    if login.status != 200 or (app and not token):
        return None
    nodes = []
    for url in urls:
        answer = request("GET", f"{url}/me", headers={TOKEN_HEADER: token} if app else None,
                         jar=None if app else jar, timeout=TIMEOUT)  # fmt: skip
        node = answer.header(NODE_ID_HEADER)
        if node is None:
            return None
        nodes.append(node)
    return nodes
