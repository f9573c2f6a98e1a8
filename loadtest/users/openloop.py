"""The locust side of open-loop load and exact latency: pacing users on a schedule, recording HDR histograms.

Imported by the locustfile only (it runs under gevent). `OPEN` holds the run's open-loop settings, read from
the locustfile's options at init; with no arrival rate the users stay closed-loop (think time between
answers) and only the recording changes. `Pacer` is one user's schedule: `turn()` sleeps until the next
intended start, sends then, and classifies the start (loadtest/users/schedule.py says what on time, queued and
late mean). `RECORDER` keeps the per-second HDR histograms that workers send to their master.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

import gevent

from loadtest.users import hdr
from loadtest.users import tally as T
from loadtest.users.schedule import (
    LATE,
    LATE_STARTS,
    MISSED,
    QUEUED,
    QUEUED_STARTS,
    SCHEDULED,
    Schedule,
    classify_start,
    per_user_rate,
    user_phase,
)

LOAD_KIND = "all"  # the label of the counts above
RECORDER = hdr.Recorder()


@dataclass
class OpenLoop:
    """The run's open-loop settings: total arrival rate (0: closed loop), Poisson or fixed, users sharing it."""

    arrival_rate: float = 0.0
    poisson: bool = False
    users: int = 1
    epoch: float = 0.0  # the process's schedule grid starts here (its first user's start)
    _indices: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def active(self) -> bool:
        return self.arrival_rate > 0

    def configure(self, arrival_rate: float, poisson: bool, users: int) -> None:
        self.arrival_rate, self.poisson, self.users = arrival_rate, poisson, max(users, 1)

    def settings(self) -> dict[str, Any]:
        return {"arrival_rate": self.arrival_rate, "poisson": self.poisson, "users": self.users}

    def new_pacer(self) -> Pacer:
        """A schedule for one more user: its share of the rate, an evenly spread phase, on the shared grid."""
        rate = per_user_rate(self.arrival_rate, self.users)
        now = time.time()
        if not self.epoch:
            self.epoch = now
        interval = 1.0 / rate
        epoch = self.epoch + -(-(now - self.epoch) // interval) * interval  # the grid's next point from now
        index = next(self._indices)
        schedule = Schedule(rate, epoch, user_phase(index), self.poisson, random.Random(index))
        pacer = Pacer(schedule, idle_since=now)
        PACERS.append(pacer)
        return pacer


OPEN = OpenLoop()


@dataclass
class Pacer:
    """One open-loop user's turn-taking: wait for the intended start, note how the start went."""

    schedule: Schedule
    idle_since: float

    def missed_by(self, stop: float) -> int:
        """How many of this user's intended starts before `stop` were never taken (it was still waiting for an
        answer, or the generator never got round to them)."""
        missed = 0
        while self.schedule.peek() <= stop:
            self.schedule.take()
            missed += 1
        return missed

    def turn(self) -> float:
        """Sleep until the next intended start (not at all if it has passed); return that intended start."""
        intended = self.schedule.take()
        wait = intended - time.time()
        if wait > 0:
            gevent.sleep(wait)
        sent = time.time()
        outcome = classify_start(intended, sent, self.idle_since)
        TALLY[0].count(SCHEDULED, LOAD_KIND, now=sent)
        if outcome in OUTCOME_MEASURES:
            TALLY[0].count(OUTCOME_MEASURES[outcome], LOAD_KIND, now=sent)
        RECORDER.record(hdr.START_LAG, (sent - max(intended, self.idle_since)) * 1000, now=sent)
        return intended

    def done(self) -> None:
        """The user's request is answered: from now on it is idle, waiting for its next turn."""
        self.idle_since = time.time()


def add_arguments(parser: Any) -> None:
    """The locustfile's open-loop options (locust's own parser; LOCUST_SESSIONLAB_* env vars work too)."""
    parser.add_argument("--sessionlab-arrival-rate", type=float, default=0.0, env_var="LOCUST_SESSIONLAB_ARRIVAL_RATE",
                        include_in_web_ui=False,
                        help="open loop: requests per second in total, shared by all users on fixed schedules "
                             "(0: closed loop)")  # fmt: skip
    parser.add_argument("--sessionlab-poisson", action="store_true", default=False, env_var="LOCUST_SESSIONLAB_POISSON",
                        include_in_web_ui=False,
                        help="open loop: exponential gaps between a user's requests (Poisson arrivals)")  # fmt: skip


def configure(options: Any) -> None:
    """Read the open-loop options once locust parsed them (users: the total over all workers)."""
    if options is not None:
        rate = float(getattr(options, "sessionlab_arrival_rate", 0) or 0)
        OPEN.configure(rate, bool(getattr(options, "sessionlab_poisson", False)), options.num_users or 1)


OUTCOME_MEASURES = {QUEUED: QUEUED_STARTS, LATE: LATE_STARTS}
PACERS: list[Pacer] = []  # this process's users' schedules, for the count of missed starts at the end


def count_missed(stop: float) -> None:
    """At the end of the load: count the intended starts up to `stop` never sent, so that the achieved rate is
    arrival rate x sent / (sent + missed), whatever the users' phases and the run's length."""
    missed = sum(pacer.missed_by(stop) for pacer in PACERS)
    PACERS.clear()
    if missed:
        TALLY[0].count(MISSED, LOAD_KIND, missed, now=stop)


TALLY: list[T.Tally] = [T.Tally()]  # the locustfile's own tally once `use_tally` ran (merged across workers)


def use_tally(tally: T.Tally) -> None:
    """Count scheduled, queued and late starts into the locustfile's tally."""
    TALLY[0] = tally


def record_answer(intended: float | None, service_ms: float, *, scheduled: bool) -> None:
    """One HTTP answer: its service time, and its latency — from the intended start in open loop, where only
    scheduled requests count; from the send in closed loop."""
    now = time.time()
    RECORDER.record(hdr.SERVICE, service_ms, now=now)
    if OPEN.active and not scheduled:
        return
    latency = (now - intended) * 1000 if intended is not None else service_ms
    RECORDER.record(hdr.LATENCY, latency, now=now)
