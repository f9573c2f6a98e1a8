"""The probe's load: asyncio users in one process, closed loop (think time) or open loop (the lab's schedules).

Open loop gives every user its share of `--rate` on loadtest/users/schedule.py's grid (evenly spread phases),
and measures latency from the intended start, as compare does. Every request, logins and logouts included,
first takes a slot from one `Limiter` at `--max-rate`, so no flag combination sends faster than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable

import aiohttp

from loadtest.probe.client import ProbeUser, new_http
from loadtest.probe.options import ProbeOptions
from loadtest.probe.record import ALL, LATE, Recording
from loadtest.users.pacing import WAIT_MAX_S, WAIT_MIN_S
from loadtest.users.schedule import LATE as LATE_START
from loadtest.users.schedule import MISSED, Schedule, classify_start, per_user_rate, user_phase

BURST_S = 0.1  # the rate cap lets this many seconds' worth of requests go at once
BROWSER_SHARE = 2 / 3  # --kinds browser,app: 2 browsers to 1 app, as the locustfile weighs them


class Limiter:
    """At most `rate` requests/s on average, shared by every user: a token bucket holding BURST_S worth of requests,
    so that users whose turns fall close together are not spaced out needlessly."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate
        self.burst = max(1.0, rate * BURST_S) * self.gap  # seconds of credit the bucket holds when full
        self.next = 0.0  # when the bucket would be empty, in monotonic seconds; each request moves it one gap on

    async def wait(self) -> float:
        """Wait for a token; returns the seconds waited (the probe's own delay, kept out of the latency)."""
        now = time.monotonic()
        self.next = max(self.next, now - self.burst) + self.gap
        delay = self.next - now
        if delay > 0:
            await asyncio.sleep(delay)
        return max(delay, 0.0)


def kinds_for(options: ProbeOptions) -> list[str]:
    """The users' kinds: all one kind, or 2:1 browsers to apps (at least one of each)."""
    if len(options.kinds) == 1:
        return [options.kinds[0]] * options.users
    browsers = min(max(round(options.users * BROWSER_SHARE), 1), max(options.users - 1, 1))
    return ["browser"] * browsers + ["app"] * (options.users - browsers)


async def closed_loop(user: ProbeUser, deadline: float) -> None:
    """Think time (the lab's 0.05-0.5 s) between an answer and the next request."""
    rng = random.Random()
    while time.time() < deadline:
        await user.step(None)
        await asyncio.sleep(min(rng.uniform(WAIT_MIN_S, WAIT_MAX_S), max(deadline - time.time(), 0)))


def open_loop(index: int, options: ProbeOptions, recording: Recording) -> Callable[[ProbeUser, float], Awaitable[None]]:
    """This user's schedule at its share of --rate; each request waits for its intended start."""
    schedule = Schedule(per_user_rate(options.rate, options.users), recording.start, user_phase(index))

    async def run(user: ProbeUser, deadline: float) -> None:
        idle_since = time.time()
        while (intended := schedule.take()) < deadline:
            if time.time() >= deadline:  # behind schedule at the end: the rest are missed starts, never sent
                recording.tally.count(MISSED, ALL, 1 + _left_before(schedule, deadline))
                break
            await asyncio.sleep(max(intended - time.time(), 0.0))
            if classify_start(intended, time.time(), idle_since) == LATE_START:
                recording.tally.count(LATE, ALL)
            await user.step(intended)
            idle_since = time.time()

    return run


def _left_before(schedule: Schedule, deadline: float) -> int:
    left = 0
    while schedule.peek() < deadline:
        schedule.take()
        left += 1
    return left


async def drive(options: ProbeOptions, recording: Recording) -> list[ProbeUser]:
    """Run every user from `recording.start` until --duration is over, then log them all out; returns the users."""
    limiter = Limiter(options.max_rate)
    connector = aiohttp.TCPConnector(limit=options.users + 4, force_close=False)
    users: list[ProbeUser] = []
    try:
        for kind in kinds_for(options):
            users.append(ProbeUser(kind, new_http(options, kind, connector), options, recording, gate=limiter.wait))
        recording.users.update(user.kind for user in users)
        deadline = recording.start + options.duration
        loops = [
            open_loop(i, options, recording)(u, deadline) if options.open_loop else closed_loop(u, deadline)
            for i, u in enumerate(users)
        ]
        await asyncio.gather(*loops)
        await asyncio.gather(*(user.logout() for user in users))
    finally:
        for user in users:
            with contextlib.suppress(Exception):
                await user.http.close()
        await connector.close()
    return users
