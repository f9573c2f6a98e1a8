"""Generated locust outputs and results, for the tests that need no cluster."""

from __future__ import annotations

import random
from typing import Any

from loadtest.compare.record.cells import build_cell
from loadtest.compare.spec import CellSpec, Kill
from loadtest.users import tally as T

START = 1_700_000_000.25


def stats_doc(
    miss_p: float,
    *,
    seconds: int = 10,
    per_second: int = 60,
    kill_at: float | None = None,
    after_p: float = 0.0,
    nodes: int = 3,
    seed: int = 1,
) -> dict[str, Any]:
    """A sessionlab stats file as the locustfile writes it, with misses drawn at the given rates."""
    rng = random.Random(seed)
    tally = T.Tally()
    for kind, users in (("browser", 20), ("app", 10)):
        tally.count(T.USERS, kind, users, now=START)
        tally.count(T.LOGINS, kind, users, now=START)
    for second in range(seconds):
        now = START + second
        p = after_p if kill_at is not None and second >= kill_at else miss_p
        alive = nodes - 1 if kill_at is not None and second >= kill_at else nodes
        for _ in range(per_second):
            kind = "browser" if rng.random() < 2 / 3 else "app"
            tally.count(T.SESSION_REQUESTS, kind, now=now)
            tally.count(T.NODE, f"node-{nodes - rng.randrange(alive)}", now=now)
            tally.count(T.LATENCY, T.latency_bucket(rng.lognormvariate(0.5, 0.6)), now=now)
            if rng.random() < p:
                tally.count(T.MISSES, kind, now=now)
                tally.count(T.RELOGINS, kind, now=now)
                tally.count(T.REASON, "401 on /me", now=now)
    entries = [
        {"method": "GET", "name": "/me", "num_requests": seconds * per_second, "num_failures": 2},
        {"method": "SESSION", "name": "miss: browser", "num_requests": 50, "num_failures": 50},
    ]
    return {"sessionlab_stats": 1, "final": True, "test_start": START, "test_stop": START + seconds,
            "workers": 0, "per_second": tally.to_dict(), "entries": entries}  # fmt: skip


def cell(routing: str, store: str, scenario: str, miss_p: float, after_p: float | None = None) -> dict[str, Any]:
    killed = scenario == "node-failure"
    stats = stats_doc(miss_p, kill_at=5.0 if killed else None, after_p=miss_p if after_p is None else after_p)
    spec = CellSpec(routing, store, scenario, nodes=3, users=30, duration=10.0)
    return build_cell(spec, stats, Kill("node-3", 5.0, 5.4) if killed else None).to_json()


def concurrent_cell(store: str, consistency: str, *, acked: int, lost: int, conflicts: int = 0) -> dict[str, Any]:
    """A concurrent-scenario cell: bursts whose acknowledged and lost increments are given."""
    stats = stats_doc(0.0)
    bursts = {T.key(T.BURSTS, "browser"): acked // 10, T.key(T.ACKED, "browser"): acked,
              T.key(T.LOST, "browser"): lost, T.key(T.CONFLICTS, "browser"): conflicts}  # fmt: skip
    stats["per_second"][str(int(START))].update({k: v for k, v in bursts.items() if v})
    spec = CellSpec("sticky", store, "concurrent", nodes=3, users=30, duration=10.0, consistency=consistency)
    return build_cell(spec, stats).to_json()


def matrix() -> list[dict[str, Any]]:
    """A small results list: shared stores clean, memory missing as theory says, one cell that disagrees."""
    return [
        cell("random", "redis", "steady", 0.0),
        cell("random", "redis", "node-failure", 0.0),
        cell("sticky", "cookie", "node-failure", 0.0),
        cell("random", "memory", "steady", 2 / 3),
        cell("random", "memory", "node-failure", 2 / 3, after_p=0.5),
        cell("hash", "memory", "steady", 0.30),  # far above theory: must be flagged
    ]
