"""The open-loop sender's session users: the locustfile's browser and app users, on asyncio instead of gevent.

Same requests, weights and judgement as loadtest/locustfile.py's SessionUser: log in, then read and change
the session on the user's own schedule; every authenticated answer is judged by loadtest/users/misses.py, a
miss is counted (and a SESSION row reported) and the user logs in again at once. Browsers carry their session
and the balancer's affinity in cookies, apps in X-Session-Token only. `PathUser` is the generator's own
ceiling probe: one plain GET of a trivial endpoint per turn, no session.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any

from loadtest.users import tally as T
from loadtest.users.misses import Expected, judge, learn
from loadtest.users.pacing import READ_WEIGHTS, WRITE_WEIGHTS
from loadtest.users.sendbooks import MISS_TYPE, Books
from loadtest.users.wire import Answer, Connection, CookieJar
from nodes.contract.names import NO_TOKEN_YET, NODE_ID_HEADER, TOKEN_HEADER

SKUS = ("apple", "bread", "cheese", "dates", "eggs")
NODE_KEY = NODE_ID_HEADER.lower()
TOKEN_KEY = TOKEN_HEADER.lower()
JSON_HEADERS = {"Content-Type": "application/json"}
# (method, path, increments, clears, weight): the locustfile's SessionUser tasks
TASKS = (
    ("GET", "/me", False, False, READ_WEIGHTS["me"]),
    ("POST", "/counter", True, False, WRITE_WEIGHTS["counter"]),
    ("GET", "/cart", False, False, READ_WEIGHTS["view_cart"]),
    ("POST", "/cart/items", False, False, WRITE_WEIGHTS["add_to_cart"]),
    ("DELETE", "/cart", False, True, WRITE_WEIGHTS["clear_cart"]),
)


class SessionUser:
    """One browser (cookies) or app (token header) user on its own keep-alive connection."""

    def __init__(self, base_url: str, kind: str, books: Books, rng: random.Random) -> None:
        self.kind, self.books, self.rng = kind, books, rng
        self.connection = Connection(base_url)
        self.jar = CookieJar() if kind == "browser" else None
        self.token = ""
        self.expected = Expected(user=f"{kind}-{uuid.uuid4().hex[:12]}")
        self.has_session = self.after_miss = False

    def headers(self, *, login: bool = False) -> dict[str, str]:
        if self.jar is not None:
            return self.jar.header()
        return {TOKEN_HEADER: NO_TOKEN_YET if login else self.token}

    def remember(self, answer: Answer) -> None:
        """An app keeps the token a good answer hands back (a browser's jar took its cookies in `send`)."""
        if self.jar is None and (token := answer.headers.get(TOKEN_KEY)):
            self.token = token

    async def send(self, method: str, path: str, name: str, body: Any = None, intended: float | None = None,
                   lag: float = 0.0, *, login: bool = False) -> Answer | None:  # fmt: skip
        """One request; its answer (None when none came, counted as an error), counted where it was served."""
        payload = json.dumps(body).encode() if body is not None else b""
        headers = {**self.headers(login=login), **(JSON_HEADERS if payload else {})}
        began = time.perf_counter()
        try:
            answer = await self.connection.request(method, path, headers, payload)
        except (OSError, TimeoutError):
            self.error(method, name, 0)
            return None
        service_ms = (time.perf_counter() - began) * 1000
        self.books.answered(method, name, service_ms, intended, answer.headers.get(NODE_KEY), lag)
        if self.jar is not None:
            self.jar.update(answer.set_cookies)  # a browser keeps every cookie it is given, whatever the status
        return answer

    async def login(self) -> bool:
        name = "/login [after miss]" if self.after_miss else "/login"
        answer = await self.send("POST", "/login", name, {"user": self.expected.user}, login=True)
        if answer is None:
            return False
        if answer.status != 200:
            self.error("POST", name, answer.status)
            return False
        self.books.request("POST", name)
        self.remember(answer)
        self.books.tally.count(T.LOGINS, self.kind)
        if self.after_miss:
            self.books.tally.count(T.RELOGINS, self.kind)
        self.expected.reset()
        self.has_session, self.after_miss = True, False
        return True

    async def turn(self, intended: float | None, lag: float = 0.0) -> None:
        """One task of the weighted mix, judged like the locustfile's `judged_call` (`lag`: the generator's delay
        of this start, seconds)."""
        method, path, increments, clears, _ = self.rng.choices(TASKS, weights=WEIGHTS)[0]
        if not self.has_session and not await self.login():
            return
        body = {"sku": self.rng.choice(SKUS), "qty": self.rng.randint(1, 3)} if path == "/cart/items" else None
        name = path if method in ("GET", "POST") else f"{method} {path}"
        answer = await self.send(method, path, name, body, intended, lag)
        if answer is None:
            return
        payload = answer.json()
        floor = self.expected.counter + 1 if increments else None
        reason = judge(answer.status, payload, self.expected, min_counter=floor, min_cart={} if clears else None)
        if reason is None and answer.status != 200:
            self.error(method, name, answer.status)
            return
        self.books.request(method, name)
        if reason is None:
            self.remember(answer)
            learn(payload, self.expected)
        self.books.tally.count(T.SESSION_REQUESTS, self.kind)
        if reason is not None:
            await self.miss(f"{reason} on {name}")

    async def miss(self, reason: str) -> None:
        tally = self.books.tally
        tally.count(T.MISSES, self.kind)
        tally.count(T.REASON, reason)
        self.books.request(MISS_TYPE, f"miss: {self.kind}", failed=True)
        self.has_session, self.after_miss = False, True
        await self.login()

    def error(self, method: str, name: str, status: int) -> None:
        self.books.request(method, name, failed=True)
        self.books.tally.count(T.ERRORS, self.kind)
        self.books.tally.count(T.STATUS, str(status))

    def close(self) -> None:
        self.connection.close()


WEIGHTS = [task[-1] for task in TASKS]


class PathUser(SessionUser):
    """The ceiling probe: GET one trivial path per turn (a node's or the balancer's /healthz), no session."""

    path = "/healthz"

    async def login(self) -> bool:
        self.has_session = True
        return True

    async def turn(self, intended: float | None, lag: float = 0.0) -> None:
        answer = await self.send("GET", self.path, self.path, None, intended, lag)
        if answer is not None and answer.status != 200:
            self.error("GET", self.path, answer.status)
        elif answer is not None:
            self.books.request("GET", self.path)
