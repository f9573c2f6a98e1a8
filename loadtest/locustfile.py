"""The locust suite: browser and app users that check every answer for a session miss.

Run it on its own (`locust -f loadtest/locustfile.py`, defaults in pyproject's [tool.locust]) or through
`sessionlab compare`. Each user logs in, then reads and changes its session; every authenticated answer is
judged (loadtest/users/misses.py). A miss is reported as its own request event, type "SESSION", name
"miss: <kind>", marked failed with the reason, response time 0 — so it shows in locust's UI, CSV and
totals and adds up across workers — while the HTTP request that revealed it is marked a success (the
server answered correctly for what it saw). Reports must leave SESSION rows out of latency and error
figures. After a miss the user logs in again at once ("/login [after miss]").

`ConcurrentUser` (the concurrent scenario; off unless named: `locust -f loadtest/locustfile.py
ConcurrentUser`) fires bursts of parallel increments on one session and reads the counter back: increments
answered 200 but missing from the stored counter are lost updates, reported as SESSION "lost update: <kind>"
events and counted in the tally.

Counts locust does not keep (session requests, misses and logins per user kind, requests per node, all per
second) go to a Tally; the stats plugin (loadtest/users/stats.py, loaded from here) sends a worker's to the
master, writes them to `--sessionlab-stats FILE` as JSON and prints a summary at the end.
"""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path
from typing import Any

from gevent.pool import Group
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

try:
    import loadtest  # noqa: F401
except ImportError:  # `locust -f some/path/loadtest/locustfile.py` without the project installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtest.users import openloop, replicas, stats
from loadtest.users import session_life as life
from loadtest.users import tally as T
from loadtest.users.bursts import judge_burst
from loadtest.users.follow import Follower
from loadtest.users.longlived import LongLivedUser, named_on_command_line, share_weights
from loadtest.users.misses import Expected, json_or_none, judge, learn
from loadtest.users.pacing import READ_WEIGHTS, WAIT_MAX_S, WAIT_MIN_S, WRITE_WEIGHTS
from loadtest.users.sse import SSEUser
from nodes.contract.names import AFFINITY_COOKIE, REQUEST_ID_HEADER, TOKEN_HEADER
from nodes.contract.names import NODE_ID_HEADER as NODE_HEADER

SKUS = ("apple", "bread", "cheese", "dates", "eggs")  # few lines, so a cookie-stored cart stays far below 4 KB
BURST = 10  # parallel increments per burst of ConcurrentUser (its connection pool holds as many)
TALLY = stats.TALLY
openloop.use_tally(TALLY)
events.init_command_line_parser.add_listener(life.add_arguments)  # type: ignore[no-untyped-call]


class SessionMiss(Exception):
    """Handed to locust's request event, never raised: its message says what proved the miss."""


class LostUpdate(Exception):
    """Handed to locust's request event, never raised: acknowledged increments were missing afterwards."""


class SessionClient(FastHttpUser):
    """A user with a session: logs in and judges every authenticated answer (what it does is up to subclasses).

    Closed loop by default (think time between an answer and the next request); with an arrival rate
    (`--sessionlab-arrival-rate`) each request waits for its turn on the user's schedule instead, and its
    latency counts from that intended start (loadtest/users/openloop.py).
    """

    abstract = True
    kind = "abstract"
    think_time = between(WAIT_MIN_S, WAIT_MAX_S)

    def __init__(self, environment: Any, *args: Any, **kwargs: Any) -> None:
        self.host = replicas.host_for_next_user(environment.parsed_options, self.host, TALLY)  # before its client
        super().__init__(environment, *args, **kwargs)
        self.expected = Expected(user=f"{self.kind}-{uuid.uuid4().hex[:12]}")
        self.has_session = False
        self.after_miss = False
        self.pacer: openloop.Pacer | None = None
        self.follower = Follower(TALLY, self.kind, AFFINITY_COOKIE)  # re-pins, nodes per session, cookie re-issue
        self.idle = life.IdlePauses(self.environment.parsed_options)  # --sessionlab-idle-gap

    def wait_time(self) -> float:
        """Think time in closed loop; none in open loop (each call waits for its own turn)."""
        return 0.0 if openloop.OPEN.active else self.idle.wait(float(self.think_time()))

    def take_turn(self) -> float | None:
        """Open loop: wait for this user's next intended start and return it; closed loop: None at once."""
        if not openloop.OPEN.active:
            return None
        if self.pacer is None:
            self.pacer = openloop.OPEN.new_pacer()
        return self.pacer.turn()

    def turn_done(self) -> None:
        if self.pacer is not None:
            self.pacer.done()

    def on_start(self) -> None:
        TALLY.count(T.USERS, self.kind)
        self.login()

    def on_stop(self) -> None:
        self.follower.session_ended()

    # -- the session reference: cookies for browsers, a header for apps --------------------------------

    def auth_headers(self) -> dict[str, str]:
        return {}

    def login_headers(self) -> dict[str, str]:
        return {}

    def remember_reference(self, headers: Any) -> None:
        """Keep the session reference an answer hands back (the cookie jar does it for browsers)."""

    # -- requests ----------------------------------------------------------------------------------

    def login(self) -> bool:
        name = "/login [after miss]" if self.after_miss else "/login"
        self.follower.session_ended()
        headers = {**self.login_headers(), REQUEST_ID_HEADER: uuid.uuid4().hex}  # a POST seen twice: a replay
        with self.client.post(
            "/login", json={"user": self.expected.user}, headers=headers, name=name, catch_response=True
        ) as resp:
            self.served(resp)
            if resp.status_code != 200:
                self.error(resp, f"login answered {resp.status_code or 'no response'}")
                return False
            self.remember_reference(resp.headers)
        TALLY.count(T.LOGINS, self.kind)
        if self.after_miss:
            TALLY.count(T.RELOGINS, self.kind)
        self.expected.reset()
        self.has_session, self.after_miss = True, False
        return True

    def call(
        self, method: str, path: str, *, json_body: Any = None, increments: bool = False, clears: bool = False
    ) -> None:
        """One authenticated call, judged: a hit updates what the user expects, a miss is reported."""
        intended = self.take_turn()
        try:
            self.judged_call(method, path, json_body, increments, clears, intended)
        finally:
            self.turn_done()

    def judged_call(
        self, method: str, path: str, json_body: Any, increments: bool, clears: bool, intended: float | None
    ) -> None:
        if not self.has_session and not self.login():
            return
        floor = self.expected.counter + 1 if increments else None
        min_cart: dict[str, int] | None = {} if clears else None
        name = path if method in ("GET", "POST") else f"{method} {path}"
        headers = {**self.auth_headers(), REQUEST_ID_HEADER: uuid.uuid4().hex}
        with self.client.request(method, path, json=json_body, headers=headers, name=name, catch_response=True) as resp:
            self.served(resp, intended)
            body = json_or_none(resp)
            reason = judge(resp.status_code, body, self.expected, min_counter=floor, min_cart=min_cart)
            if reason is not None:
                resp.success()  # the node answered correctly for what it saw; the miss is reported on its own
            elif resp.status_code != 200:
                self.error(resp, f"{method} {path} answered {resp.status_code or 'no response'}")
                return
            else:
                self.remember_reference(resp.headers)
                learn(body, self.expected)
        TALLY.count(T.SESSION_REQUESTS, self.kind)
        node = resp.headers.get(NODE_HEADER) if resp.headers else None
        self.idle.answered(TALLY, self.kind, node, missed=reason is not None)
        if reason is not None:
            self.miss(f"{reason} on {name}")

    def served(self, resp: Any, intended: float | None = None) -> None:
        """Count who answered and how fast (a request without an HTTP answer has neither). In open loop only
        scheduled requests (`intended` given) count in the latency; logins are off the schedule."""
        if not resp.status_code:
            return
        node = resp.headers.get(NODE_HEADER) if resp.headers else None
        TALLY.count(T.NODE, node or "(no node id)")
        self.follower.answered(node, getattr(self.client, "cookiejar", None))
        meta = resp.request_meta
        bucket = T.latency_bucket(meta["response_time"])
        TALLY.count(T.LATENCY, bucket)
        TALLY.count(T.request_latency(meta["request_type"], meta["name"]), bucket)
        if node:
            TALLY.count(T.node_latency(node), bucket)
        openloop.record_answer(intended, meta["response_time"], scheduled=intended is not None)
        TALLY.count(T.PROCESS, stats.PROCESS["id"])
        reference = len(self.auth_headers().get(TOKEN_HEADER, "")) or life.cookie_bytes(self.client.cookiejar)
        life.count_wire(TALLY, self.kind, resp, reference)

    def error(self, resp: Any, text: str) -> None:
        resp.failure(text)
        life.count_refusal(TALLY, resp.status_code or 0, str(resp.request_meta.get("name", "")))
        TALLY.count(T.ERRORS, self.kind)
        TALLY.count(T.ERRORS_BY_METHOD, str(resp.request_meta.get("request_type", "?")))
        TALLY.count(T.STATUS, str(resp.status_code or 0))

    def miss(self, reason: str, *, relogin: bool = True) -> None:
        TALLY.count(T.MISSES, self.kind)
        TALLY.count(T.REASON, reason)
        self.session_event(f"miss: {self.kind}", SessionMiss(reason))
        self.has_session, self.after_miss = False, True
        if relogin:
            self.login()  # as a real user would have to

    def session_event(self, name: str, exception: Exception) -> None:
        """A SESSION row in locust's stats (response time 0): counted, shown and summed across workers."""
        self.environment.events.request.fire(
            request_type="SESSION", name=name, response_time=0, response_length=0, exception=exception, context={}
        )


class SessionUser(SessionClient):
    """A user that mixes reads and writes of its session, one request at a time."""

    abstract = True

    # -- what users do, with weights ----------------------------------------------------------------

    @task(READ_WEIGHTS["me"])
    def me(self) -> None:
        self.call("GET", "/me")

    @task(WRITE_WEIGHTS["counter"])
    def counter(self) -> None:
        self.call("POST", "/counter", increments=True)

    @task(READ_WEIGHTS["view_cart"])
    def view_cart(self) -> None:
        self.call("GET", "/cart")

    @task(WRITE_WEIGHTS["add_to_cart"])
    def add_to_cart(self) -> None:
        self.call("POST", "/cart/items", json_body={"sku": random.choice(SKUS), "qty": random.randint(1, 3)})

    @task(WRITE_WEIGHTS["clear_cart"])
    def clear_cart(self) -> None:
        self.call("DELETE", "/cart", clears=True)


class BrowserUser(SessionUser):
    """A browser: the session (and the balancer's SL_ROUTE affinity) travel in cookies."""

    kind = "browser"
    weight = 2


class AppUser(SessionUser):
    """A mobile or mini-program client without cookie support: its session travels in X-Session-Token only."""

    kind = "app"
    weight = 1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client.cookiejar = None  # type: ignore[assignment] # no jar: no SL_SESSION, no SL_ROUTE affinity
        self.client.client.cookiejar = None
        self.token = ""

    def auth_headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: self.token}

    def login_headers(self) -> dict[str, str]:
        return {TOKEN_HEADER: ""}  # an empty token says "app client, no session yet"

    def remember_reference(self, headers: Any) -> None:
        self.token = (headers.get(TOKEN_HEADER) if headers else None) or self.token


class ReaderUser(SessionClient):
    """A browser that only reads its session (GET /me): the request an outside load generator can repeat with
    one cookie, for the cross-check. Weight 0 unless named on the command line, like ConcurrentUser."""

    kind = "browser"
    weight = 1 if named_on_command_line("ReaderUser") else 0

    @task
    def me(self) -> None:
        self.call("GET", "/me")


class ConcurrentUser(SessionClient):
    """A browser page that fires parallel writes: bursts of POST /counter on one session, then reads what was kept.

    Each burst: GET /me (the counter before), BURST increments in flight at once, GET /me again. Increments
    answered 200 but missing from the counter read back are lost updates (last write wins); 409s are refusals,
    counted apart. The read-back may land on a node an asynchronous copy has not reached yet, so a burst is
    settled at the next burst's first read (nobody else writes this session): increments that show up by then
    were stored and are counted as stale read-backs, not as lost. Weight 0, so plain
    `locust -f loadtest/locustfile.py` never starts it; naming it on the command line (as `sessionlab compare
    --scenario concurrent` does; workers too) switches it on.
    """

    pending: tuple[int, int, int] | None = None  # the last burst (before, acknowledged, read back), not yet settled

    kind = "browser"  # it keeps cookies: routing pins it, and theory predicts its misses, as a browser's
    weight = 1 if named_on_command_line("ConcurrentUser") else 0
    concurrency = BURST

    @task
    def burst(self) -> None:
        if not self.has_session and not self.login():
            return
        before = self.read_counter("/me", floor=self.expected.counter)
        self.settle_pending(before)
        if before is None:
            return
        group = Group()
        try:
            outcomes = group.map(lambda _: self.increment(before), range(BURST))
        finally:
            group.kill(block=False)  # only matters when locust stops this user mid-burst
        acked = outcomes.count("ok")
        stored = self.read_counter("/me [after burst]", floor=before + (1 if acked else 0))
        if stored is None or "error" in outcomes:  # a failed increment may or may not have been stored
            TALLY.count(T.UNVERIFIED, self.kind)
        else:
            self.pending = (before, acked, stored)
        if stored is not None:
            self.expected.counter = stored  # the server's value is the truth from here on, lost updates included
        if "miss" in outcomes and stored is not None:
            self.settle_pending(None)
            self.has_session, self.after_miss = False, True
            self.login()

    def on_stop(self) -> None:
        """The last burst gets no second look, so it is counted neither way (as a burst whose read-back failed)."""
        super().on_stop()
        if self.pending is not None:
            self.pending = None
            TALLY.count(T.UNVERIFIED, self.kind)

    def settle_pending(self, seen_later: int | None) -> None:
        """Count the last verified burst, with `seen_later` (this session's counter read since, if any)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        before, acked, stored = pending
        lost, stale = judge_burst(before, acked, stored, seen_later)
        TALLY.count(T.BURSTS, self.kind)
        TALLY.count(T.ACKED, self.kind, acked)
        if stale:
            TALLY.count(T.STALE, self.kind, stale)
        if lost:
            TALLY.count(T.LOST, self.kind, lost)
            self.session_event(f"lost update: {self.kind}", LostUpdate("acknowledged increments lost"))

    def read_counter(self, name: str, *, floor: int) -> int | None:
        """GET /me, judged with `floor` as the lowest counter that can still be this session; None on a miss."""
        with self.client.get("/me", name=name, catch_response=True) as resp:
            self.served(resp)
            body = json_or_none(resp)
            reason = judge(resp.status_code, body, self.expected, min_counter=floor)
            if reason is not None:
                resp.success()
            elif resp.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("counter"), int):
                self.error(resp, f"GET /me answered {resp.status_code or 'no response'}")
                return None
        TALLY.count(T.SESSION_REQUESTS, self.kind)
        if reason is not None:
            self.miss(f"{reason} on {name}")
            return None
        return int(body["counter"])

    def increment(self, before: int) -> str:
        """One increment of a burst: "ok", "conflict" (409), "miss" or "error"."""
        with self.client.post("/counter", name="/counter [burst]", catch_response=True) as resp:
            self.served(resp)
            if resp.status_code == 409:
                resp.success()  # a refusal the client is told about: nothing acknowledged, nothing lost
                TALLY.count(T.CONFLICTS, self.kind)
                return "conflict"
            # each answer saw at least the counter before the burst plus its own increment, whoever else wrote
            reason = judge(resp.status_code, json_or_none(resp), self.expected, min_counter=before + 1)
            if reason is not None:
                resp.success()
            elif resp.status_code != 200:
                self.error(resp, f"POST /counter answered {resp.status_code or 'no response'}")
                return "error"
        TALLY.count(T.SESSION_REQUESTS, self.kind)
        if reason is not None:
            self.miss(f"{reason} on /counter [burst]", relogin=False)  # one login after the burst, not one per miss
            return "miss"
        return "ok"


stats.USER_KINDS.update({cls.kind: cls.weight for cls in (BrowserUser, AppUser)})
_MIX = [c for c in (BrowserUser, AppUser) if named_on_command_line(c.__name__)] or [BrowserUser, AppUser]
share_weights([LongLivedUser, SSEUser], sum(c.weight for c in _MIX))
