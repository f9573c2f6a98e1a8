"""Per-second counters of a locust run that add up across locust workers and processes.

The locustfile counts into a `Tally` (session requests, misses, logins, which node served what); a worker
sends its increments with each stats report and the master merges them, so the totals and the timeline
are the same whether one process or K workers produced the load. Pure Python: no locust import here.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping

# Counter keys are "<measure>:<label>": measure names the quantity, label the user kind, node or reason.
USERS = "users"  # one per user started (its first login)
LOGINS = "logins"
RELOGINS = "relogins"  # logins forced by a session miss
SESSION_REQUESTS = "session_requests"  # authenticated calls answered 200 or 401, i.e. judged hit or miss
MISSES = "misses"
ERRORS = "errors"  # 5xx, connection errors, unexpected statuses: real failures, not misses
STATUS = "status"  # errors by HTTP status ("0" when no answer came: a connection error)
NODE = "node"  # requests served, by X-Node-Id
REASON = "reason"  # misses by what proved them
LATENCY = "latency"  # HTTP response times (ms, 2 significant digits), misses excluded by construction
REQUEST_LATENCY = "latency of"  # the same, per request ("latency of GET /me"): locust rounds to whole ms below 100
NODE_LATENCY = "latency at"  # the same, per answering node ("latency at node-2"): the other nodes' tail in a storm
ERRORS_BY_METHOD = "errors by method"  # errors by HTTP method: GET/DELETE are idempotent, POST is not
REPINS = "repins"  # a user's answer came from another node than its previous answer (a re-pin, or flapping)
SESSION_NODES = "session nodes"  # sessions (login to next login or stop), by how many distinct nodes served them
COOKIE_REISSUED = "cookie reissued"  # the balancer's affinity cookie changed value under a user that held one
REPLICA = "replica"  # users, by the balancer replica they talk to (--sessionlab-hosts)
PROCESS = "process"  # requests answered, by the locust process (PID) that sent them: proves which workers loaded
# The concurrent scenario (parallel increments on one session), labelled by user kind:
BURSTS = "bursts"  # bursts whose result was read back (verified)
ACKED = "increments_acked"  # increments answered 200 in verified bursts
LOST = "increments_lost"  # acknowledged increments missing from the counter, still missing at the next look
STALE = "increments_stale"  # missing from the read-back after the burst, but there at the next look (a stale copy)
CONFLICTS = "conflicts"  # increments answered 409 (refused, so neither acknowledged nor lost)
UNVERIFIED = "bursts_unverified"  # read-back missed or failed, or an increment failed: not counted either way
# The long-lived user (a WebSocket to /ws; loadtest/users/longlived.py), labelled by user kind unless noted:
WS_CONNECTS = "ws_connects"  # WebSockets opened (their hello arrived)
WS_CONNECT_FAILURES = "ws_connect_failures"  # handshakes refused or connections that failed before a 101
RECONNECTS = "reconnects"  # WebSockets opened again after a close
RECONNECT_TIME = "reconnect ms"  # close -> the new connection's hello, by latency bucket (backoff included)
WS_MISSES = "ws_misses"  # WebSockets closed with 4401: the node did not see the session
WS_CLOSES = "ws_closes"  # closes, by close code ("reset": the connection ended without a close frame)
MESSAGES_LOST = "messages_lost"  # ticks missing from a connection's sequence, increments missing from the counter
MESSAGES_DUPLICATED = "messages_duplicated"  # ticks seen twice, increments counted twice
LIVE_OPEN = "live_open"  # by node: WebSockets open on it during that second (those that got a tick in it)


def key(measure: str, label: str) -> str:
    return f"{measure}:{label}"


class Tally:
    """Counters bucketed by wall-clock second; mergeable, drainable and JSON-friendly."""

    def __init__(self) -> None:
        self._seconds: dict[int, Counter[str]] = {}

    def count(self, measure: str, label: str, n: int = 1, now: float | None = None) -> None:
        second = int(time.time() if now is None else now)
        bucket = self._seconds.get(second)
        if bucket is None:  # not setdefault: that builds a Counter on every call, on every request's hot path
            bucket = self._seconds[second] = Counter()
        bucket[key(measure, label)] += n

    def merge(self, data: Mapping[str, Mapping[str, int]]) -> None:
        """Add a `drain()` or `to_dict()` result (as sent by a worker) into this tally."""
        for second, counts in data.items():
            self._seconds.setdefault(int(second), Counter()).update(counts)

    def drain(self) -> dict[str, dict[str, int]]:
        """Everything counted since the last drain, then forget it (a worker's increment for its master)."""
        data = self.to_dict()
        self._seconds = {}
        return data

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {str(second): dict(counts) for second, counts in sorted(self._seconds.items())}

    def totals(self) -> Counter[str]:
        return sum_counts(self._seconds.values())


def sum_counts(buckets: Iterable[Mapping[str, int]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for bucket in buckets:
        total.update(bucket)
    return total


def labels(counts: Mapping[str, int], measure: str) -> dict[str, int]:
    """`{label: n}` for one measure, e.g. labels(totals, "node") -> {"node-1": 120, ...}."""
    prefix = f"{measure}:"
    return {k[len(prefix) :]: v for k, v in counts.items() if k.startswith(prefix) and v}


def measure_total(counts: Mapping[str, int], measure: str) -> int:
    return sum(labels(counts, measure).values())


def request_latency(method: str, name: str) -> str:
    """The measure holding one request's response times: `latency of GET /me`."""
    return f"{REQUEST_LATENCY} {method} {name}"


def node_latency(node: str) -> str:
    """The measure holding the response times of one node's answers: `latency at node-2`."""
    return f"{NODE_LATENCY} {node}"


def latency_bucket(ms: float) -> str:
    """A response time rounded to 2 significant digits (0.53, 1.2, 47, 150): ~5% resolution at any scale."""
    return f"{float(f'{max(ms, 0.0):.2g}'):g}"


def percentile(histogram: Mapping[str, int], q: float) -> float | None:
    """The smallest bucket value at or below which a fraction `q` of the samples fall (None when empty)."""
    points = sorted((float(value), n) for value, n in histogram.items() if n > 0)
    total = sum(n for _, n in points)
    if not total:
        return None
    seen = 0
    for value, n in points:
        seen += n
        if seen >= q * total:
            return value
    return points[-1][0]
