"""After a long-lived cell's load: the polling-then-upgrade handshake (socket.io's), tried through the balancer.

Each attempt is a fresh browser: it logs in, polls until a node sees its session (`GET /poll` issues a transport id
held in that node's memory), then upgrades with `GET /ws?sid=…`. Only an upgrade that reaches the polling node
succeeds; anywhere else the node answers 400 "Session ID unknown". Routing alone decides it, whatever the store.
"""

from __future__ import annotations

from http.cookiejar import CookieJar
from typing import Any

import websocket

from loadtest.lab.probe import request
from nodes.contract.names import POLL_PATH, TRANSPORT_ID_PARAM, WS_PATH

ATTEMPTS = 20
POLLS = 20  # polls until one finds the session (memory store, no affinity: the login's node only)
TIMEOUT = 2.0


def measure(url: str, attempts: int = ATTEMPTS) -> dict[str, Any]:
    """How many of `attempts` handshakes upgraded, and how many the node refused as "Session ID unknown"."""
    outcomes = [attempt(url) for _ in range(attempts)]
    return {
        "handshake_attempts": attempts,
        "handshake_upgraded": outcomes.count("upgraded"),
        "handshake_sid_unknown": outcomes.count("sid unknown"),
    }


def attempt(url: str) -> str:
    """ "upgraded", "sid unknown" (the upgrade reached another node), or "no session" / "error"."""
    jar = CookieJar()
    if request("POST", f"{url}/login", json_body={"user": "handshake"}, jar=jar, timeout=TIMEOUT).status != 200:
        return "error"
    sid = None
    for _ in range(POLLS):
        answer = request("GET", f"{url}{POLL_PATH}", jar=jar, timeout=TIMEOUT)
        if answer.status == 200:
            sid = (answer.json() or {}).get(TRANSPORT_ID_PARAM)
            break
    if not isinstance(sid, str):
        return "no session"
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    target = "ws" + url.removeprefix("http") + f"{WS_PATH}?{TRANSPORT_ID_PARAM}={sid}"
    try:
        ws = websocket.create_connection(target, timeout=TIMEOUT, cookie=cookie, suppress_origin=True)
    except websocket.WebSocketBadStatusException as refused:
        return "sid unknown" if refused.status_code == 400 else "error"
    except (websocket.WebSocketException, OSError):
        return "error"
    ws.close()
    return "upgraded"
