"""How long a session stays usable after POST /logout-all, measured through the balancer as a user would see it.

Two browser clients log in as the same user; one calls /logout-all; the other then polls GET /me until it is
refused CONFIRM times in a row (revoked) or a bound passes (still usable). Through a balancer that spreads
requests, a memory-store session answers 401 on every node but its own, so one 401 proves nothing: only a run
of them does, and the time of the last 200 is what counts. Cookie sessions are not polled to their end: the
client holds them, so they stay usable until they expire, and the record says so instead of waiting.
Synchronous (the lab's probe client), outside locust, run by `sessionlab compare` after a cell's load.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import Any

from loadtest.lab.probe import request

CONFIRM = 20  # refusals in a row that prove revocation (a live memory session survives them with p <= (2/3)^20)
POLL_INTERVAL = 0.02  # seconds between polls: the measurement's resolution
COOKIE_WINDOW = 0.5  # seconds a cookie session is polled to confirm it still works, before "until expiry"
LOGINS = 20  # logins tried until one gives a session reachable through the balancer (memory + hash: p = 1/N)
ATTEMPTS = 30  # requests tried until one reaches the node holding the session (memory + random: p = 1/N)
TIMEOUT = 5.0


@dataclass
class Client:
    """A browser-like client: its own cookie jar (session and affinity cookies); never a proxy (see probe)."""

    base: str
    jar: CookieJar = field(default_factory=CookieJar)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        """(status, JSON body); status 0 when nothing answered."""
        answer = request(method, self.base + path, json_body=body, jar=self.jar, timeout=TIMEOUT)
        document = answer.json()
        return answer.status or 0, document if isinstance(document, dict) else {}

    def until_ok(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        """Repeat a call while it answers 401 (the balancer may route it away from the node with the session)."""
        status, body = 0, dict[str, Any]()
        for _ in range(ATTEMPTS):
            status, body = self.call(method, path)
            if status != 401:
                break
        return status, body


def establish(client: Client, user: str) -> bool:
    """Log in until the new session can be reached through the balancer (hash routing may strand a login)."""
    for _ in range(LOGINS):
        if client.call("POST", "/login", {"user": user})[0] == 200 and client.until_ok("GET", "/me")[0] == 200:
            return True
    return False


@dataclass
class Poll:
    """What the other client saw after logout-all."""

    polls: int = 0
    usable_answers: int = 0
    refusals_in_a_row: int = 0
    last_usable_s: float | None = None  # seconds after the logout-all answer of the last 200
    last_usable_node: str | None = None


def poll(client: Client, since: float, window: float) -> Poll:
    """GET /me until CONFIRM refusals in a row or `window` seconds after `since`."""
    seen = Poll()
    while seen.refusals_in_a_row < CONFIRM and time.monotonic() - since < window:
        status, body = client.call("GET", "/me")
        seen.polls += 1
        if status == 200:
            seen.usable_answers += 1
            seen.refusals_in_a_row = 0
            seen.last_usable_s = time.monotonic() - since
            seen.last_usable_node = body.get("node")
        elif status == 401:
            seen.refusals_in_a_row += 1
        time.sleep(POLL_INTERVAL)
    return seen


def measure(base_url: str, store: str, *, bound: float, max_age: int) -> dict[str, Any]:
    """`{"revoked_usable_s": seconds or None, "revocation": details}` for one store behind `base_url`."""
    user = f"revoke-{uuid.uuid4().hex[:10]}"
    holder, other = Client(base_url), Client(base_url)
    if not (establish(holder, user) and establish(other, user)):
        return _failed("no session could be reached through the balancer", bound, max_age)
    status, answer = holder.until_ok("POST", "/logout-all")
    if status != 200:
        return _failed(f"POST /logout-all answered {status or 'nothing'}", bound, max_age)
    ended = time.monotonic()
    seen = poll(other, ended, min(bound, COOKIE_WINDOW) if store == "cookie" else bound)
    until = outcome(store, seen)
    usable = {"revoked": round(seen.last_usable_s or 0.0, 3), "expiry": max_age, "bound": bound}.get(until)
    details = {
        "until": until,
        "scope": answer.get("scope"),
        "sessions_ended": answer.get("sessions_ended"),
        "logout_node": answer.get("node"),
        "bound_s": bound,
        "max_age_s": max_age,
        "polls": seen.polls,
        "usable_answers": seen.usable_answers,
        "last_usable_s": None if seen.last_usable_s is None else round(seen.last_usable_s, 3),
        "last_usable_node": seen.last_usable_node,
    }
    return {"revoked_usable_s": usable, "revocation": {**details, "explanation": explain(store, details)}}


def outcome(store: str, seen: Poll) -> str:
    """revoked, expiry (a cookie session that still works), bound (still usable when polling stopped) or unclear."""
    if seen.refusals_in_a_row >= CONFIRM:
        return "revoked"
    if not seen.usable_answers:
        return "unclear"  # errors, not answers: neither refused often enough nor accepted
    return "expiry" if store == "cookie" else "bound"


def explain(store: str, details: dict[str, Any]) -> str:
    """One sentence on what was measured and why, from the details of a measurement."""
    until, scope = details["until"], details.get("scope")
    if until == "revoked":
        where = f" (it lived on {details['logout_node']}, the node that served it)" if store == "memory" else ""
        when = "from the first poll" if details["last_usable_s"] is None else f"{details['last_usable_s']:g} s"
        return f"revoked: the other client's session was refused {when} after /logout-all (scope '{scope}'){where}"
    if until == "expiry":
        return (f"not revocable: the client holds the encrypted session, which still worked after /logout-all "
                f"(scope '{scope}'); it stays usable until it has gone {details['max_age_s']} s unused "
                "(SESSION_MAX_AGE), and every use re-issues it")  # fmt: skip
    if until == "unclear":
        return f"unclear: the other client got neither {CONFIRM} refusals in a row nor a 200 (errors only)"
    node = details.get("last_usable_node") or "another node"
    return (f"still usable {details['bound_s']:g} s after /logout-all: it lives on {node}, and /logout-all on "
            f"{details['logout_node']} reached only that node's sessions (scope '{scope}')")  # fmt: skip


def _failed(reason: str, bound: float, max_age: int) -> dict[str, Any]:
    return {
        "revoked_usable_s": None,
        "revocation": {"until": "error", "bound_s": bound, "max_age_s": max_age, "explanation": reason},
    }
