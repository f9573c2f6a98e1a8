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
    """Counts of requests per time bucket since the server started (never reset: readers take differences)."""

    __slots__ = ("_counts", "count", "total_ms")

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self.count = 0
        self.total_ms = 0.0

    def record(self, seconds: float) -> None:
        ms = seconds * 1000
        index = bucket_of(ms)
        self._counts[index] = self._counts.get(index, 0) + 1
        self.count += 1
        self.total_ms += ms

    def snapshot(self) -> dict[str, Any]:
        """The JSON form: {"count", "total_ms", "buckets": {"<index>": count}} (upper bound: upper_ms(index))."""
        buckets = {str(index): n for index, n in sorted(self._counts.items())}
        return {"count": self.count, "total_ms": round(self.total_ms, 3), "buckets": buckets}


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
