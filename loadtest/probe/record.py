"""What a probe run counts while it runs: the lab's per-second Tally and HDR Recorder, plus per-session backends.

Misses, session requests, errors and answers per backend go into loadtest/users' `Tally` (the same measures the
locustfile counts), latencies into its HDR `Recorder`; sessions (login to logout or miss) keep the set of
backends that answered them and how often that backend changed (a re-pin).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from loadtest.probe.spec import IDEMPOTENT
from loadtest.users import hdr
from loadtest.users import tally as T

REPINS = "repins"  # answers of one session from another backend than the one before
LATE = "late_starts"  # open loop: requests that left more than 5 ms after they could have (the probe fell behind)
THROTTLED = "throttled"  # requests --max-rate held back (the probe, not the target, set their pace)
ALL = "all"
NO_ANSWER = "no answer"  # connection refused, reset or timed out


@dataclass
class SessionTrack:
    """One session's backends, from its login to its end."""

    backends: set[str] = field(default_factory=set)
    last: str | None = None
    repins: int = 0


@dataclass(frozen=True)
class Mark:
    """An event on the timelines: an --event command or a POST /_probe/mark."""

    at: float  # wall clock
    label: str
    source: str  # "event" or "mark"


class Recording:
    """Everything the users report; `start` is when the load began (the timelines' zero)."""

    def __init__(self) -> None:
        self.start = time.time()
        self.tally = T.Tally()
        self.latency = hdr.Recorder()
        self.ended: list[SessionTrack] = []
        self.errors: dict[str, Counter[str]] = {"idempotent": Counter(), "non_idempotent": Counter()}
        self.marks: list[Mark] = []
        self.event_results: dict[int, int | None] = {}  # index in marks -> the command's exit status
        self.users: Counter[str] = Counter()
        self.logouts: Counter[str] = Counter()

    def answered(self, track: SessionTrack, backend: str | None, kind: str) -> None:
        """An answer for this session came from `backend` (None: the answer did not say)."""
        if backend is None:
            return
        self.tally.count(T.NODE, backend)
        if track.last is not None and backend != track.last:
            track.repins += 1
            self.tally.count(REPINS, kind)
        track.backends.add(backend)
        track.last = backend

    def judged(self, kind: str, miss_reason: str | None) -> None:
        self.tally.count(T.SESSION_REQUESTS, kind)
        if miss_reason is not None:
            self.tally.count(T.MISSES, kind)
            self.tally.count(T.REASON, miss_reason)

    def error(self, kind: str, method: str, status: str) -> None:
        self.tally.count(T.ERRORS, kind)
        self.errors["idempotent" if method in IDEMPOTENT else "non_idempotent"][status] += 1

    def timing(self, latency_ms: float, service_ms: float) -> None:
        self.latency.record(hdr.LATENCY, latency_ms)
        self.latency.record(hdr.SERVICE, service_ms)

    def session_ended(self, track: SessionTrack) -> None:
        if track.backends:
            self.ended.append(track)

    def mark(self, label: str, source: str) -> int:
        self.marks.append(Mark(time.time(), label, source))
        return len(self.marks) - 1
