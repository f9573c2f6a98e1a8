"""One synthetic user of the probe: logs in, sends session requests, judges each answer, logs out at the end.

The judgement is the lab's own (loadtest/users/misses.py): with the default contract (the lab's nodes) a user
runs the locustfile's mix of reads and writes with the same task weights; with `--check` it repeats one request
and judges it by a counter that must grow by one (a reset is a miss) or by `--seen`/`--missed` rules.
Redirects are never followed, so no request ever leaves the target host; a 3xx is judged by the rules.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from loadtest.probe.options import ProbeOptions
from loadtest.probe.record import ALL, NO_ANSWER, THROTTLED, Recording, SessionTrack
from loadtest.probe.spec import Endpoint
from loadtest.users.misses import Expected, judge, learn
from loadtest.users.pacing import READ_WEIGHTS, WRITE_WEIGHTS
from nodes.contract.names import NO_TOKEN_YET

THROTTLED_AFTER_S = 0.001  # a request the rate cap held back longer than this counts as throttled
SKUS = ("apple", "bread", "cheese", "dates")
COUNTER = "counter"  # the JSON field a --check counter answer carries (the Spring Session /hit recipe)
# The lab's mix (the locustfile's SessionUser tasks): (method, path, increments, clears, weight)
LAB_MIX: tuple[tuple[str, str, bool, bool, int], ...] = (
    ("GET", "/me", False, False, READ_WEIGHTS["me"]),
    ("GET", "/cart", False, False, READ_WEIGHTS["view_cart"]),
    ("POST", "/counter", True, False, WRITE_WEIGHTS["counter"]),
    ("POST", "/cart/items", False, False, WRITE_WEIGHTS["add_to_cart"]),
    ("DELETE", "/cart", False, True, WRITE_WEIGHTS["clear_cart"]),
)


@dataclass(frozen=True)
class Answer:
    """What came back for one request."""

    status: int
    body: Any
    headers: Any
    location: str | None  # a 3xx's Location path on the target host (None: none, or off the host)
    ms: float


@dataclass
class ProbeUser:
    """A browser (cookie jar) or an app (token header, no cookies) with its own synthetic identity."""

    kind: str
    http: aiohttp.ClientSession
    options: ProbeOptions
    recording: Recording
    gate: Callable[[], Awaitable[float]] | None = None  # awaited before every request (the --max-rate limiter)
    held: float = 0.0  # seconds the gate held this user's requests since its current turn began
    name: str = field(default_factory=lambda: f"probe-{uuid.uuid4().hex[:12]}")
    token: str = ""
    has_session: bool = False
    login_status: str = ""  # what the last login answered (the preflight names it when it failed)
    track: SessionTrack = field(default_factory=SessionTrack)

    def __post_init__(self) -> None:
        self.expected = Expected(user=self.name)
        self.rng = random.Random()

    # -- HTTP --------------------------------------------------------------------------------------

    async def send(self, endpoint: Endpoint, body: Any = None, headers: dict[str, str] | None = None) -> Answer | None:
        """One request, never following a redirect; None when no answer came (refused, reset, timed out)."""
        if self.gate is not None:
            waited = await self.gate()
            self.held += waited
            if waited > THROTTLED_AFTER_S:
                self.recording.tally.count(THROTTLED, ALL)
        url = self.options.target + endpoint.path
        began = time.perf_counter()
        try:
            async with self.http.request(
                endpoint.method, url, json=body, headers=headers or self.auth_headers(), allow_redirects=False
            ) as resp:
                raw = await resp.read()
                ms = (time.perf_counter() - began) * 1000
                return Answer(resp.status, _json(raw), resp.headers, self._location(url, resp), ms)
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None

    def _location(self, url: str, resp: aiohttp.ClientResponse) -> str | None:
        location = resp.headers.get("Location")
        if not (300 <= resp.status < 400) or not location:
            return None
        absolute = urlsplit(urljoin(url, location))
        here = urlsplit(url)
        if (absolute.scheme, absolute.netloc) != (here.scheme, here.netloc):
            return None  # off the target host: never followed, never matched as a path
        return absolute.path or "/"

    def auth_headers(self) -> dict[str, str]:
        return {self.options.token_header: self.token} if self.kind == "app" and self.token else {}

    def backend(self, answer: Answer) -> str | None:
        """Which backend made this answer, as --backend-id says to read it."""
        source, name = self.options.backend_id.source, self.options.backend_id.name
        if source == "header":
            value = answer.headers.get(name)
        elif source == "json":
            value = answer.body.get(name) if isinstance(answer.body, dict) else None
        elif source == "cookie":
            value = _cookie(self.http, self.options.target, name) or _set_cookie(answer.headers, name)
        else:
            return None
        return None if value is None else str(value)[:40]

    # -- the session -------------------------------------------------------------------------------

    async def login(self) -> bool:
        """Start a new session; False (and an error counted) when the login failed."""
        self.recording.session_ended(self.track)
        self.track, self.has_session = SessionTrack(), False
        self.token = ""
        headers = {self.options.token_header: NO_TOKEN_YET} if self.kind == "app" else {}
        answer = await self.send(self.options.login, {"user": self.name}, headers)
        self.login_status = _status(answer)
        if answer is None or answer.status >= 400:
            self.recording.error(self.kind, self.options.login.method, _status(answer))
            return False
        self.token = answer.headers.get(self.options.token_header, "") if self.kind == "app" else ""
        self.expected.reset()
        self.recording.answered(self.track, self.backend(answer), self.kind)
        self.has_session = True
        return True

    async def step(self, intended: float | None) -> None:
        """One judged session request (a new login first if the last one was lost)."""
        self.held = 0.0
        if not self.has_session and not await self.login():
            return
        method, path, increments, clears, body = self.next_request()
        answer = await self.send(Endpoint(method, path), body)
        if answer is None:
            self.recording.error(self.kind, method, NO_ANSWER)
            return
        # from the intended start (open loop), less what the probe's own rate cap held it back
        latency = (time.time() - intended - self.held) * 1000 if intended is not None else answer.ms
        self.recording.timing(latency, answer.ms)
        outcome = self.judge(answer, increments, clears)
        if outcome == "error":
            self.recording.error(self.kind, method, _status(answer))
            return
        self.recording.answered(self.track, self.backend(answer), self.kind)
        self.recording.judged(self.kind, outcome)
        if outcome is not None:
            self.has_session = False
            await self.login()  # as a real user would have to
        elif self.kind == "app" and answer.headers.get(self.options.token_header):
            self.token = answer.headers[self.options.token_header]

    def next_request(self) -> tuple[str, str, bool, bool, Any]:
        check = self.options.check
        if check is not None:
            return check.method, check.path, True, False, None
        method, path, increments, clears, _ = self.rng.choices(LAB_MIX, weights=[m[-1] for m in LAB_MIX])[0]
        body = {"sku": self.rng.choice(SKUS), "qty": self.rng.randint(1, 3)} if path == "/cart/items" else None
        return method, path, increments, clears, body

    def judge(self, answer: Answer, increments: bool, clears: bool) -> str | None:
        """The miss reason, None for a hit, or "error" for an answer that proves nothing."""
        options = self.options
        if options.check is None:  # the lab's contract, judged exactly as the locustfile judges it
            floor = self.expected.counter + 1 if increments else None
            cart: dict[str, int] | None = {} if clears else None
            reason = judge(answer.status, answer.body, self.expected, min_counter=floor, min_cart=cart)
            if reason is None and answer.status != 200:
                return "error"
            if reason is None:
                learn(answer.body, self.expected)
            return reason
        if options.seen or options.missed:
            return _by_rules(self.options, answer)
        counter = answer.body.get(COUNTER) if isinstance(answer.body, dict) else None
        if answer.status == 200 and isinstance(counter, int) and not isinstance(counter, bool):
            reason = judge(200, {COUNTER: counter}, self.expected, min_counter=self.expected.counter + 1)
            learn({COUNTER: counter}, self.expected)
            return reason
        return "401" if answer.status == 401 else "error"

    async def logout(self) -> None:
        """End the synthetic session at the end of the run (no-op without one, or with --logout none)."""
        self.recording.session_ended(self.track)
        self.track = SessionTrack()
        if not self.has_session or self.options.logout is None:
            return
        answer = await self.send(self.options.logout)
        self.recording.logouts["ok" if answer is not None and answer.status < 400 else "failed"] += 1
        self.has_session = False


def new_http(options: ProbeOptions, kind: str, connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
    """A user's client: its own cookie jar (browsers; unsafe=True keeps cookies of IP hosts) or none (apps)."""
    jar: aiohttp.abc.AbstractCookieJar
    jar = aiohttp.CookieJar(unsafe=True) if kind == "browser" else aiohttp.DummyCookieJar()
    timeout = aiohttp.ClientTimeout(total=options.timeout)
    return aiohttp.ClientSession(connector=connector, connector_owner=False, cookie_jar=jar, timeout=timeout)


def _by_rules(options: ProbeOptions, answer: Answer) -> str | None:
    for rule in options.missed:
        if rule.matches(answer.status, answer.location):
            return str(rule)
    seen = any(r.matches(answer.status, answer.location) for r in options.seen)
    if seen or (not options.seen and 200 <= answer.status < 300):
        return None
    return "error"


def _status(answer: Answer | None) -> str:
    return NO_ANSWER if answer is None else str(answer.status)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def _cookie(http: aiohttp.ClientSession, target: str, name: str) -> str | None:
    morsel = http.cookie_jar.filter_cookies(URL(target)).get(name)
    return morsel.value if morsel is not None else None


def _set_cookie(headers: Any, name: str) -> str | None:
    for line in headers.getall("Set-Cookie", []):
        key, _, rest = line.partition("=")
        if key.strip() == name:
            return str(rest.split(";", 1)[0])
    return None
