"""The long-lived users: a browser that keeps a connection open through the balancer, reads its ticks, sends an
`incr` every few ticks, and on a close reconnects with exponential back-off and jitter, as real clients do.
`LongLivedUser` (the WebSocket user) lives on `/ws`; `SSEUser` (loadtest/users/sse.py) on `/events`. Their share
of the users is `--sessionlab-long-lived` (0 to 0.9; 0: they never run), split evenly between those named.

What it proves goes to the tally (loadtest/users/tally.py), never to locust's request rows (they would mix with
the HTTP latency): connects and connect failures, reconnects and the time from a close to the next hello, session
misses (a 4401 close: it logs in again), and lost or duplicated messages (loadtest/users/live_judge.py). It runs
under locust's gevent, so websocket-client's blocking socket calls yield to the other users.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

import websocket
from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser

from loadtest.users import stats
from loadtest.users import tally as T
from loadtest.users.live_judge import LiveJudge, Verdict, backoff
from nodes.contract.names import INCR_MESSAGE, WS_PATH, WS_SESSION_MISSING

KIND = "live"
SHARE_OPTION, SHARE_ENV = "--sessionlab-long-lived", "LOCUST_SESSIONLAB_LONG_LIVED"
INCR_EVERY = 3  # ticks between two increments
SILENCE_S = 5.0  # no message this long (a tick comes every NODE_TICK_MS, 1 s by default): the connection is dead
TALLY = stats.TALLY


@stats.on(events.init_command_line_parser)
def _add_arguments(parser: Any) -> None:
    parser.add_argument(SHARE_OPTION, type=float, default=0.0, env_var=SHARE_ENV, include_in_web_ui=False,
                        help="the share of users (0-0.9) that keep a WebSocket open (LongLivedUser)")  # fmt: skip


def share() -> float:
    """The long-lived share of the users, read before locust parses its options (weights are class attributes)."""
    argv, value = sys.argv[1:], os.environ.get(SHARE_ENV, "0")
    for index, arg in enumerate(argv):
        if arg == SHARE_OPTION and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith(SHARE_OPTION + "="):
            value = arg.split("=", 1)[1]
    try:
        return min(max(float(value), 0.0), 0.9)
    except ValueError:
        return 0.0


def named_on_command_line(user_class: str) -> bool:
    """Whether locust was asked for this class by name. Read before locust parses its options, because it drops
    weight-0 classes when it builds its environment, named or not."""
    return user_class in sys.argv[1:] or user_class in os.environ.get("LOCUST_USER_CLASSES", "").split()


def share_weights(live: Sequence[type[LiveUser]], others: float) -> None:
    """Split the long-lived share evenly between the long-lived users named (none named: the first alone)."""
    chosen = [cls for cls in live if named_on_command_line(cls.__name__)] or list(live[:1])
    for cls in chosen:
        cls.weight = weight_for(others) / len(chosen)


def weight_for(others: float) -> float:
    """The weight that makes this user `share()` of all users beside classes weighing `others` in total."""
    part = share()
    return others * part / (1 - part) if part > 0 else 0.0


class LiveUser(FastHttpUser):
    """Logs in, then lives on one long-lived connection at a time: each task run is one connection, from
    (re)connect to close. Subclasses open it (`open_connection`) and read it (`converse`)."""

    abstract = True
    kind = KIND  # the tally's label for this user's counts
    weight = 0.0  # set from the share by the locustfile
    wait_time = constant(0)

    def on_start(self) -> None:
        TALLY.count(T.USERS, self.kind)
        self.user = f"{self.kind}-{uuid.uuid4().hex[:12]}"
        self.judge = LiveJudge()
        self.logged_in = False
        self.closed_at: float | None = None  # when the last connection ended (None: never connected yet)
        self.attempt = 0  # failed or closed connections in a row: the back-off grows with it

    @task
    def live(self) -> None:
        if self.closed_at is not None or self.attempt:
            time.sleep(backoff(self.attempt))
        if not self.logged_in and not self.login():
            self.attempt += 1
            return
        connection = self.open_connection()
        if connection is None:
            self.attempt += 1
            return
        try:
            self.converse(connection)
        finally:
            self.close_connection(connection)
            self.attempt += 1

    def open_connection(self) -> Any:
        """The open connection, or None (its failure or miss already counted through `ended`)."""
        raise NotImplementedError

    def converse(self, connection: Any) -> None:
        """Read until the connection ends; every message is judged and the end is reported to `ended`."""
        raise NotImplementedError

    def close_connection(self, connection: Any) -> None:
        raise NotImplementedError

    def cookie_header(self) -> str:
        """The browser's cookies (session and balancer affinity), for a connection made outside locust's client."""
        jar = self.client.cookiejar
        return "; ".join(f"{c.name}={c.value}" for c in jar) if jar else ""

    def login(self) -> bool:
        name = f"/login [{self.kind}]"
        with self.client.post("/login", json={"user": self.user}, name=name, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"login answered {resp.status_code or 'no response'}")
                return False
        TALLY.count(T.LOGINS, self.kind)
        self.judge.new_session()
        self.logged_in = True
        return True

    def on_message(self, message: dict[str, Any]) -> bool:
        """Judge one message; False when the connection must end (an increment found no session)."""
        kind = message.get("type")
        if kind == "hello":
            self.opened(message)
        elif kind == "tick":
            self.count(self.judge.tick(int(message["seq"])))
            TALLY.count(T.LIVE_OPEN, str(message.get("node")))
            if message["seq"] % INCR_EVERY == 0:
                return self.send_incr()
        elif kind == "counter":
            self.count(self.judge.answered(int(message["counter"])))
        return True

    def send_incr(self) -> bool:
        raise NotImplementedError

    def opened(self, hello: dict[str, Any]) -> None:
        TALLY.count(T.WS_CONNECTS, self.kind)
        if self.closed_at is not None:
            TALLY.count(T.RECONNECTS, self.kind)
            TALLY.count(T.RECONNECT_TIME, T.latency_bucket((time.time() - self.closed_at) * 1000))
        self.closed_at, self.attempt = None, -1  # -1: the close that ends this connection makes it 0
        self.count(self.judge.hello(int(hello["counter"])))

    def connect_failed(self) -> None:
        TALLY.count(T.WS_CONNECT_FAILURES, self.kind)
        self.ended()

    def session_missing(self, code: str) -> None:
        """The node did not see the session (4401, or 401 on a stream or an increment): a miss, then a new login."""
        TALLY.count(T.WS_MISSES, self.kind)
        self.logged_in = False  # as a real client would: log in again, then reconnect
        self.ended(code)

    def ended(self, code: str | None = None) -> None:
        """A connection closed (`code`) or could not be made (None)."""
        if code is not None:
            TALLY.count(T.WS_CLOSES, code)
        self.judge.closed()
        if self.closed_at is None:
            self.closed_at = time.time()

    def count(self, verdict: Verdict) -> None:
        if verdict.lost:
            TALLY.count(T.MESSAGES_LOST, self.kind, verdict.lost)
        if verdict.duplicated:
            TALLY.count(T.MESSAGES_DUPLICATED, self.kind, verdict.duplicated)


class LongLivedUser(LiveUser):
    """The WebSocket user: lives on `/ws`, sends `incr` as a message and reads the counter from the answer."""

    kind = KIND

    def open_connection(self) -> websocket.WebSocket | None:
        url = "ws" + (self.host or "").removeprefix("http") + WS_PATH  # http://h -> ws://h, https://h -> wss://h
        cookie = self.cookie_header()
        try:
            return websocket.create_connection(url, timeout=SILENCE_S, cookie=cookie or None, suppress_origin=True)
        except (websocket.WebSocketException, OSError):
            self.connect_failed()
            return None

    def close_connection(self, connection: websocket.WebSocket) -> None:
        connection.close(timeout=0.2)

    def converse(self, connection: websocket.WebSocket) -> None:
        self.ws = connection
        while True:
            try:
                opcode, data = connection.recv_data(control_frame=True)
            except (websocket.WebSocketException, OSError):
                self.ended("reset")
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                code = str(int.from_bytes(data[:2], "big")) if len(data) >= 2 else "no code"
                if code == str(WS_SESSION_MISSING):
                    self.session_missing(code)
                else:
                    self.ended(code)
                return
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self.on_message(json.loads(data))

    def send_incr(self) -> bool:
        self.ws.send(INCR_MESSAGE)
        self.judge.increment_sent()
        return True
