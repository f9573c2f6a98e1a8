"""What the locust users count about the session's own life (issue 23): idle gaps, bytes on the wire, refusals.

A user with `--sessionlab-idle-gap S` works through ACTIVE_REQUESTS requests, then pauses S seconds (already
scaled by `sessionlab compare --time-scale`), and again. The first answer after a pause tells whether the session
outlived the gap (a miss there: expired after idle) and whether the user was placed on another node (moved after
idle); a miss anywhere else happened while the user was active. Answers the server gives on purpose, 413 (a
session too large for a cookie) and 503 (a full or missing store), are counted in their own categories, never
as 500s; a 503 to a login is a refused login. Pure counting into the Tally; no locust import (the option is added
by `add_arguments`, which the stats plugin's parser hook calls).
"""

from __future__ import annotations

from typing import Any

from loadtest.users import tally as T

ACTIVE_REQUESTS = 6  # requests in each stretch of activity between two idle gaps
# Tally measures, labelled by user kind unless noted
IDLE_GAPS = "idle gaps"  # pauses followed by a request
MOVED_AFTER_IDLE = "moved after idle"  # the first answer after a pause came from another node than the last before
EXPIRED_AFTER_IDLE = "expired after idle"  # the first request after a pause found no session
ACTIVE_MISSES = "misses while active"  # misses on any other request: the user had not paused
WIRE_BYTES = "wire bytes"  # bytes of an answer (status line, headers, body) plus the session reference sent
WIRE_REQUESTS = "wire requests"
REFUSED = "refused"  # answers by status: "413" (too large for a cookie), "503" (store full or down)
LOGINS_REFUSED = "logins refused"  # logins answered 503
REFUSAL_STATUSES = ("413", "503")
STATUS_LINE_BYTES = 17  # "HTTP/1.1 200 OK\r\n"


def add_arguments(parser: Any) -> None:
    """The idle-gap option on locust's parser (LOCUST_SESSIONLAB_IDLE_GAP works too)."""
    parser.add_argument("--sessionlab-idle-gap", type=float, default=0.0, env_var="LOCUST_SESSIONLAB_IDLE_GAP",
                        include_in_web_ui=False,
                        help=f"seconds each user pauses after every {ACTIVE_REQUESTS} requests (0: never)")  # fmt: skip


class IdlePauses:
    """One user's rhythm: ACTIVE_REQUESTS requests, a pause of `gap` seconds, again; and what it saw around them."""

    def __init__(self, options: Any) -> None:
        self.gap = float(getattr(options, "sessionlab_idle_gap", 0.0) or 0.0) if options is not None else 0.0
        self.requests = 0
        self.resumed = False  # the next request is the first after a pause
        self.last_node: str | None = None

    def wait(self, think: float) -> float:
        """The wait before the next request: the think time, or the idle gap after a stretch of activity."""
        self.requests += 1
        if self.gap <= 0 or self.requests % ACTIVE_REQUESTS:
            return think
        self.resumed = True
        return self.gap

    def answered(self, tally: T.Tally, kind: str, node: str | None, *, missed: bool) -> None:
        """Count one judged answer: a pause's outcome if it is the first after one, else a miss while active."""
        if self.resumed:
            self.resumed = False
            tally.count(IDLE_GAPS, kind)
            if missed:
                tally.count(EXPIRED_AFTER_IDLE, kind)
            if node and self.last_node and node != self.last_node:
                tally.count(MOVED_AFTER_IDLE, kind)
        elif missed:
            tally.count(ACTIVE_MISSES, kind)
        self.last_node = node or self.last_node


def count_wire(tally: T.Tally, kind: str, resp: Any, reference_bytes: int) -> None:
    """An answer's bytes on the wire (status line, headers, body) plus the session reference its request carried."""
    try:
        head = sum(len(str(name)) + len(str(value)) + 4 for name, value in resp.headers.items())
    except (AttributeError, TypeError):
        head = 0
    body = int(resp.request_meta.get("response_length") or 0)
    tally.count(WIRE_BYTES, kind, STATUS_LINE_BYTES + head + body + reference_bytes)
    tally.count(WIRE_REQUESTS, kind)


def cookie_bytes(jar: Any) -> int:
    """The Cookie header a browser sends: every cookie the jar holds (one host per lab run), `name=value; `."""
    if jar is None:
        return 0
    try:
        return sum(len(cookie.name) + len(cookie.value or "") + 3 for cookie in jar) + len("Cookie: \r\n")
    except TypeError:
        return 0


def count_refusal(tally: T.Tally, status: int, name: str) -> None:
    """413 and 503 in their own categories; a 503 to a login is a refused login."""
    if str(status) in REFUSAL_STATUSES:
        tally.count(REFUSED, str(status))
        if status == 503 and name.startswith("/login"):
            tally.count(LOGINS_REFUSED, "all")
