"""The open-loop sender's accounting, in the locustfile's units: tally, HDR histograms, per-request entries.

The sender (loadtest/users/sender.py) writes the same stats document as the locustfile's stats plugin
(loadtest/users/stats.py), so loadtest/compare/record/cells.py and loadfigures.py read its runs unchanged. Here are
its counts: the tally (loadtest/users/tally.py), the latency histograms (loadtest/users/hdr.py) and the
per-request rows that stand in for locust's stats entries (requests and failures per method and name).
Pure asyncio-free Python: no locust import.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from loadtest.users import hdr
from loadtest.users import tally as T
from loadtest.users.schedule import LATE, LATE_STARTS, QUEUED, QUEUED_STARTS, SCHEDULED, classify_start

LOAD_KIND = "all"  # the label of the open-loop start counts, as in loadtest/users/openloop.py
MISS_TYPE = "SESSION"  # request type of miss rows, as the locustfile reports them
OUTCOME_MEASURES = {QUEUED: QUEUED_STARTS, LATE: LATE_STARTS}
CLUSTER_LATENCY = "cluster_latency"  # HDR series: latency from the intended start less the generator's start lag


@dataclass
class Books:
    """Everything one sender process counts; `document()` is the stats file's body."""

    tally: T.Tally = field(default_factory=T.Tally)
    recorder: hdr.Recorder = field(default_factory=hdr.Recorder)
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    process: str = field(default_factory=lambda: str(os.getpid()))

    def start(self, intended: float, sent: float, idle_since: float) -> float:
        """One scheduled request leaves at `sent`: count it, classify its start, record its start lag (returned,
        in seconds: how long after it could have left it did, the generator's own delay)."""
        self.tally.count(SCHEDULED, LOAD_KIND, now=sent)
        outcome = classify_start(intended, sent, idle_since)
        if outcome in OUTCOME_MEASURES:
            self.tally.count(OUTCOME_MEASURES[outcome], LOAD_KIND, now=sent)
        lag = max(sent - max(intended, idle_since), 0.0)
        self.recorder.record(hdr.START_LAG, lag * 1000, now=sent)
        return lag

    def answered(self, method: str, name: str, service_ms: float, intended: float | None, node: str | None,
                 lag: float = 0.0) -> None:  # fmt: skip
        """An HTTP answer came: who served it; for scheduled requests (logins are off the schedule) its service time
        and its latency from the intended start, with and without the generator's `lag`."""
        now = time.time()
        bucket = T.latency_bucket(service_ms)
        tally = self.tally
        tally.count(T.NODE, node or "(no node id)", now=now)
        tally.count(T.LATENCY, bucket, now=now)
        tally.count(T.request_latency(method, name), bucket, now=now)
        tally.count(T.PROCESS, self.process, now=now)
        if intended is not None:  # unlike the locustfile, service time too: like with like beside the latency
            self.recorder.record(hdr.SERVICE, service_ms, now=now)
            self.recorder.record(hdr.LATENCY, (now - intended) * 1000, now=now)
            self.recorder.record(CLUSTER_LATENCY, (now - intended - lag) * 1000, now=now)

    def request(self, method: str, name: str, *, failed: bool = False) -> None:
        """One row of locust's stats entries: a request (HTTP, or a SESSION miss) and whether it failed."""
        self.requests[(method, name)] += 1
        if failed:
            self.failures[(method, name)] += 1

    def entries(self) -> list[dict[str, Any]]:
        """The rows in the shape of locust's `StatsEntry.serialize()` that the reports read."""
        return [{"method": method, "name": name, "num_requests": n, "num_failures": self.failures[(method, name)]}
                for (method, name), n in sorted(self.requests.items())]  # fmt: skip
