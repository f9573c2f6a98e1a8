"""The long-lived user: a browser that keeps a WebSocket to `/ws` open through the balancer, reads its ticks,
sends an `incr` every few ticks, and on a close reconnects with exponential back-off and jitter, as real clients
do. Its share of the users is `--sessionlab-long-lived` (0 to 0.9; 0: it never runs).

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


def weight_for(others: float) -> float:
    """The weight that makes this user `share()` of all users beside classes weighing `others` in total."""
    part = share()
    return others * part / (1 - part) if part > 0 else 0.0


class LongLivedUser(FastHttpUser):
    """Logs in, then lives on a WebSocket: each task run is one connection, from (re)connect to close."""

    weight = 0.0  # set from the share by the locustfile
    wait_time = constant(0)

    def on_start(self) -> None:
        TALLY.count(T.USERS, KIND)
        self.user = f"{KIND}-{uuid.uuid4().hex[:12]}"
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
        ws = self.connect()
        if ws is None:
            self.attempt += 1
            return
        try:
            self.converse(ws)
        finally:
            ws.close(timeout=0.2)
            self.attempt += 1

    def login(self) -> bool:
        with self.client.post("/login", json={"user": self.user}, name="/login [live]", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"login answered {resp.status_code or 'no response'}")
                return False
        TALLY.count(T.LOGINS, KIND)
        self.judge.new_session()
        self.logged_in = True
        return True

    def connect(self) -> websocket.WebSocket | None:
        url = "ws" + (self.host or "").removeprefix("http") + WS_PATH  # http://h -> ws://h, https://h -> wss://h
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.client.cookiejar) if self.client.cookiejar else ""
        try:
            return websocket.create_connection(url, timeout=SILENCE_S, cookie=cookie or None, suppress_origin=True)
        except (websocket.WebSocketException, OSError):
            TALLY.count(T.WS_CONNECT_FAILURES, KIND)
            self.ended()
            return None

    def converse(self, ws: websocket.WebSocket) -> None:
        """Read until the connection ends; every message is judged."""
        while True:
            try:
                opcode, data = ws.recv_data(control_frame=True)
            except (websocket.WebSocketException, OSError):
                self.ended("reset")
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self.ended(str(int.from_bytes(data[:2], "big")) if len(data) >= 2 else "no code")
                return
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self.on_message(ws, json.loads(data))

    def on_message(self, ws: websocket.WebSocket, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "hello":
            self.opened(message)
        elif kind == "tick":
            self.count(self.judge.tick(int(message["seq"])))
            TALLY.count(T.LIVE_OPEN, str(message.get("node")))
            if message["seq"] % INCR_EVERY == 0:
                ws.send(INCR_MESSAGE)
                self.judge.increment_sent()
        elif kind == "counter":
            self.count(self.judge.answered(int(message["counter"])))

    def opened(self, hello: dict[str, Any]) -> None:
        TALLY.count(T.WS_CONNECTS, KIND)
        if self.closed_at is not None:
            TALLY.count(T.RECONNECTS, KIND)
            TALLY.count(T.RECONNECT_TIME, T.latency_bucket((time.time() - self.closed_at) * 1000))
        self.closed_at, self.attempt = None, -1  # -1: the close that ends this connection makes it 0
        self.count(self.judge.hello(int(hello["counter"])))

    def ended(self, code: str | None = None) -> None:
        """A connection closed (`code`) or could not be made (None)."""
        if code is not None:
            TALLY.count(T.WS_CLOSES, code)
        if code == str(WS_SESSION_MISSING):
            TALLY.count(T.WS_MISSES, KIND)
            self.logged_in = False  # as a real client would: log in again, then reconnect
        self.judge.closed()
        if self.closed_at is None:
            self.closed_at = time.time()

    def count(self, verdict: Verdict) -> None:
        if verdict.lost:
            TALLY.count(T.MESSAGES_LOST, KIND, verdict.lost)
        if verdict.duplicated:
            TALLY.count(T.MESSAGES_DUPLICATED, KIND, verdict.duplicated)
