"""A bounded load of browser users for the fault scenarios, recorded call by call so tests assert on what users saw.

Each user keeps cookies, logs in, then cycles through reading and changing its session (GET /me, POST /counter,
POST /cart/items); after a 401 it logs in again, as a real user would. The load runs in a thread with its own event
loop, so a test drives faults with the cluster's blocking helpers while the users keep going; it stops by itself
after `max_duration` whatever the test does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

STEPS = (("GET", "/me", None), ("POST", "/counter", None), ("POST", "/cart/items", {"sku": "tea", "qty": 1}))


@dataclass(frozen=True)
class Call:
    """One request of one user and what came back."""

    user: int
    method: str
    path: str
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no HTTP answer (connection error or client timeout)
    error: str | None  # the client-side exception's name when there was no answer
    node: str | None  # X-Node-Id of the answer
    body: Any  # the JSON body, or the raw text when it was not JSON
    headers: dict[str, str]
    had_session: bool  # the user believed it was logged in when it sent this request
    foreign: bool  # the answer named another user: a leak between users
    went_back: bool  # the counter was lower than this session's last one: a lost update

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def miss(self) -> bool:
        """A session miss as the lab counts it: a logged-in user's request that did not see its session."""
        return self.had_session and (self.status == 401 or self.went_back)

    @property
    def failed(self) -> bool:
        return self.status is None or self.status >= 500


class Load:
    """`users` browser users against `url`, from `start()` until `stop()` (or `max_duration`)."""

    def __init__(
        self,
        url: str,
        *,
        users: int = 20,
        think: float = 0.02,
        timeout: float = 10.0,
        max_duration: float = 40.0,
        name: str = "user",
    ) -> None:
        self.url = url
        self.users = users
        self.think = think
        self.timeout = timeout
        self.max_duration = max_duration
        self.name = name
        self.calls: list[Call] = []
        self.logins: dict[int, list[str | None]] = {index: [] for index in range(users)}  # node of each login
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-load", daemon=True)
        self._error: BaseException | None = None

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Load:
        self._thread.start()
        self.wait_until(lambda: all(self.logins.values()), 20.0, "every user logged in")
        return self

    def stop(self) -> list[Call]:
        """Stop the users, wait for the thread; re-raise whatever broke the load itself."""
        self._stop.set()
        self._thread.join(self.timeout + 5.0)
        assert not self._thread.is_alive(), "the load did not stop"
        if self._error is not None:
            raise self._error
        return self.calls

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `condition` while the load runs; fail the test with `what` if it does not hold in time."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self._error is not None:
                raise self._error
            assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for: {what}"
            self._stop.wait(0.02)

    def answered_since(self, moment: float) -> int:
        """Requests sent after `moment` that got an HTTP answer (progress, whatever the answer)."""
        return sum(1 for call in list(self.calls) if call.started >= moment and call.status is not None)

    def wait_answers(self, count: int, since: float, timeout: float = 20.0) -> None:
        """Wait until `count` requests sent after `since` got an HTTP answer (the load kept going)."""
        self.wait_until(lambda: self.answered_since(since) >= count, timeout, f"{count} answers")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed to the test thread by stop()
            self._error = exc

    async def _main(self) -> None:
        deadline = time.monotonic() + self.max_duration
        await asyncio.gather(*(self._user(index, deadline) for index in range(self.users)))

    async def _user(self, index: int, deadline: float) -> None:
        name = f"{self.name}-{index}"
        steps = itertools.cycle(STEPS)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=timeout) as http:
            logged_in, counter = False, 0
            while not self._stop.is_set() and time.monotonic() < deadline:
                if logged_in:
                    method, path, body = next(steps)
                    call = await self._call(http, index, name, method, path, body, True, counter)
                    if call.status == 401:
                        logged_in = False
                    elif call.status == 200 and isinstance(call.body, dict) and "counter" in call.body:
                        counter = int(call.body["counter"])
                else:
                    call = await self._call(http, index, name, "POST", "/login", {"user": name}, False, 0)
                    if call.status == 200:
                        logged_in, counter = True, 0
                        self.logins[index].append(call.node)
                await asyncio.sleep(self.think if call.status is not None else 5 * self.think)

    async def _call(
        self,
        http: aiohttp.ClientSession,
        index: int,
        name: str,
        method: str,
        path: str,
        body: Any,
        had_session: bool,
        counter: int,
    ) -> Call:
        started = time.monotonic()
        status = node = error = None
        headers: dict[str, str] = {}
        content: Any = None
        try:
            async with http.request(method, self.url + path, json=body) as response:
                status, node, headers = response.status, response.headers.get("X-Node-Id"), dict(response.headers)
                text = await response.text(errors="replace")
                content = _json_or_text(text, response.content_type)
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, error = None, type(exc).__name__
        ended = time.monotonic()
        user = content.get("user") if isinstance(content, dict) else None
        value = content.get("counter") if isinstance(content, dict) else None
        went_back = isinstance(value, int) and value < counter
        call = Call(index, method, path, started, ended, status, error, node, content, headers, had_session,
                    user is not None and user != name, went_back)  # fmt: skip
        self.calls.append(call)
        return call


def _json_or_text(text: str, content_type: str) -> Any:
    if content_type != "application/json":
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text
