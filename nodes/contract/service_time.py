"""A cumulative histogram of a server's own time per request, kept by every node and by the balancer.

An outside load generator measures from its own send to its own receive: the servers' work plus its client, the
kernel and the loopback. Each server therefore counts, per request it serves, the time it spent on it, and shows
the running totals (NODE_SERVICE_TIME_PATH, the balancer's status document). Two readings taken around one
generator's run differ by exactly that run's requests, so a reader can see which side carries a gap between two
generators. Buckets grow by 5% (the resolution of every other latency figure of the lab); recording costs a log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

SMALLEST_MS = 0.01  # bucket 0 holds everything up to this
GROWTH = 1.05  # each bucket's upper bound is 5% above the previous one
_LOG_GROWTH = math.log(GROWTH)


def bucket_of(ms: float) -> int:
    """The index of the bucket holding `ms`: upper bound SMALLEST_MS x GROWTH**index."""
    return 0 if ms <= SMALLEST_MS else math.ceil(math.log(ms / SMALLEST_MS) / _LOG_GROWTH - 1e-9)


def upper_ms(index: int) -> float:
    return SMALLEST_MS * GROWTH**index


class ServiceTimes:
    """Counts of requests per time bucket since the server started (never reset: readers take differences).

    `record` only appends to a pending list (it runs once per request on the balancer's data path); the buckets
    take the pending times in batches of FOLD_EVERY, and whenever a reader asks."""

    __slots__ = ("_counts", "_count", "_pending", "_total_ms")

    FOLD_EVERY = 1024

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._count = 0
        self._total_ms = 0.0
        self._pending: list[float] = []

    def record(self, seconds: float) -> None:
        pending = self._pending
        pending.append(seconds)
        if len(pending) >= self.FOLD_EVERY:
            self._fold()

    @property
    def count(self) -> int:
        self._fold()
        return self._count

    @property
    def total_ms(self) -> float:
        self._fold()
        return self._total_ms

    def _fold(self) -> None:
        counts = self._counts
        for seconds in self._pending:
            ms = seconds * 1000
            index = bucket_of(ms)
            counts[index] = counts.get(index, 0) + 1
            self._total_ms += ms
        self._count += len(self._pending)
        self._pending.clear()

    def snapshot(self) -> dict[str, Any]:
        """The JSON form: {"count", "total_ms", "buckets": {"<index>": count}} (upper bound: upper_ms(index))."""
        self._fold()
        buckets = {str(index): n for index, n in sorted(self._counts.items())}
        return {"count": self._count, "total_ms": round(self._total_ms, 3), "buckets": buckets}


def difference(after: Mapping[str, Any], before: Mapping[str, Any] | None) -> dict[int, int]:
    """The requests served between two snapshots, per bucket."""
    old = (before or {}).get("buckets", {})
    counts = {int(index): int(n) - int(old.get(index, 0)) for index, n in after.get("buckets", {}).items()}
    return {index: n for index, n in counts.items() if n > 0}


def percentile_ms(counts: Mapping[int, int], q: float) -> float | None:
    """The upper bound of the bucket holding the q-th percentile (0-100), or None without requests."""
    total = sum(counts.values())
    if not total:
        return None
    rank, seen = max(math.ceil(q / 100 * total), 1), 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return upper_ms(index)
    return upper_ms(max(counts))
