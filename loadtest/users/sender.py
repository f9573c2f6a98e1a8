"""The open-loop sender: the lab's capacity-step load generator, one asyncio process on uvloop with a bare client.

`python -m loadtest.users.sender --host URL --rate R --users U --duration D --stats FILE [--poisson]
[--path /healthz]` runs U session users (2 browsers : 1 app, as the locustfile weighs them) at R requests/s
in total on the open-loop schedules of loadtest/users/schedule.py, and writes the locustfile's stats document
(`--sessionlab-stats`: tally, HDR histograms, open-loop settings, per-request rows), so a capacity step reads
the same figures whichever generator ran it: session misses, latency from the intended start, service time
from the send, late and queued starts, missed starts. `--path P` sends plain GETs of P instead (the
generator's own ceiling against a trivial endpoint).

Why this sender and not locust for capacity steps, measured here (2-core Firecracker VM shared with other
sessions, load average 15-25, so +-20%): the lab's mix through the balancer at 600 req/s for 6 s, generators
alternating over two rounds, CPU from wait4 less each tool's own start-up (its CPU at 1 req/s). Requests per
generator CPU-second, and late starts at normal priority:
- the locustfile (FastHttpUser, open-loop pacer, tally and HDR per request), one process: 2,000-2,400;
  14-32% late, 440-590 of the 600 req/s sent;
- the same with `--processes 2`: 1,900-2,100, 21-28% late (two processes on the same two cores);
- plain locust FastHttpUser, GET /healthz, no accounting at all: 3,400-4,500;
- this sender with aiohttp's ClientSession, same accounting: 2,700-3,300; 6-20% late;
- this sender with httptools (kept): 4,200-4,600 at first, 6,000-6,700 once the tally stopped building a
  Counter per count; 1.3-1.4% late at normal priority, none under SCHED_FIFO (`keep_time`).
SCHED_FIFO also takes the locustfile's late starts to 0-0.5%, so the late starts were the machine's
scheduling; the sender is kept for its cost: a third of the locustfile's CPU per request, CPU the cluster
keeps on a 2-core machine. Most of what is left is the event loop's own system calls (cProfile: two thirds
of the time in uvloop's loop). In a capacity run's ceiling probe it sent 3,681 req/s of GET /healthz to the
three nodes with no late start at load average ~17 (the nodes stopped it), 9,440 requests per CPU-second;
`sessionlab compare --capacity` measures this machine's figure of the day as `generator_ceiling_rps`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from loadtest.users import tally as T
from loadtest.users.schedule import MISSED, Schedule, per_user_rate, user_phase
from loadtest.users.sendbooks import LOAD_KIND, Books
from loadtest.users.senduser import PathUser, SessionUser

STATS_FORMAT = 1  # loadtest/users/stats.py's document format
STOP_GRACE_S = 2.0  # as locust's --stop-timeout: requests in flight at the end may finish this long
USER_KINDS = {"browser": 2, "app": 1}  # the locustfile's weights
REALTIME_PRIORITY = 10  # SCHED_FIFO priority (1-99): low in the real-time band, above every ordinary process


def keep_time() -> str:
    """Run under SCHED_FIFO where allowed (root), so that the sender wakes on time on a busy machine: on this
    shared VM a bare uvloop timer loop woke 4-11% of its timers over 5 ms late at normal priority and none
    (p99 0.6 ms) under SCHED_FIFO, while nice -5..-20 changed nothing. The sender uses a small share of one
    core, the kernel keeps 5% of each period for ordinary processes, and the run is bounded in time.
    Returns the policy in effect ("fifo" or "default")."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    except (OSError, AttributeError):  # not allowed here, or no such call on this platform
        return "default"
    return "fifo"


def kind_of(index: int) -> str:
    """Users 0, 1 are browsers, 2 an app, and so on: 2 : 1 as the locustfile weighs BrowserUser and AppUser."""
    return "app" if index % 3 == 2 else "browser"


class Sender:
    """One run: users, their schedules on a shared grid, the books, and the stats file written at start and end."""

    def __init__(self, args: argparse.Namespace, scheduling: str = "default") -> None:
        self.args, self.books, self.scheduling = args, Books(), scheduling
        self.users: list[SessionUser] = []
        self.schedules: list[Schedule] = []
        self.test_start = self.test_stop = 0.0

    def make_users(self) -> None:
        args = self.args
        hosts = args.host.split(",")
        for index in range(args.users):
            if args.path:  # the probe spreads its users over every host given (the nodes: no balancer in the way)
                probe = PathUser(hosts[index % len(hosts)], "browser", self.books, random.Random(index))
                probe.path = args.path
                user: SessionUser = probe
            else:
                user = SessionUser(args.host, kind_of(index), self.books, random.Random(index))
                self.books.tally.count(T.USERS, user.kind)
            self.users.append(user)

    async def run(self) -> None:
        self.make_users()
        await asyncio.gather(*(user.login() for user in self.users))
        gc.collect()
        gc.freeze()  # the users and their connections live all run: keep them out of the collector's sweeps
        self.test_start = time.time()
        self.write(final=False)
        rate = per_user_rate(self.args.rate, self.args.users)
        stop = self.test_start + self.args.duration
        tasks = [asyncio.create_task(self.paced(user, index, rate, stop)) for index, user in enumerate(self.users)]
        await asyncio.wait(tasks, timeout=self.args.duration + STOP_GRACE_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.test_stop = time.time()
        missed = sum(_missed_by(schedule, stop) for schedule in self.schedules)
        if missed:
            self.books.tally.count(MISSED, LOAD_KIND, missed, now=stop)
        for user in self.users:
            user.close()
        self.write(final=True)

    async def paced(self, user: SessionUser, index: int, rate: float, stop: float) -> None:
        """One user's turns: sleep to the intended start, send, wait for the answer, until the end of the load."""
        schedule = Schedule(rate, self.test_start, user_phase(index), self.args.poisson, random.Random(index))
        self.schedules.append(schedule)
        idle_since = self.test_start
        while schedule.peek() <= stop:
            intended = schedule.take()
            wait = intended - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            lag = self.books.start(intended, time.time(), idle_since)
            await user.turn(intended, lag)
            idle_since = time.time()

    def document(self, *, final: bool) -> dict[str, Any]:
        args = self.args
        return {
            "sessionlab_stats": STATS_FORMAT,
            "final": final,
            "generator": "sender",
            "test_start": self.test_start,
            "test_stop": self.test_stop or None,
            "written": time.time(),
            "workers": 0,
            "scheduling": self.scheduling,
            "user_kinds": {} if args.path else dict(USER_KINDS),
            "user_classes": ["PathUser"] if args.path else ["AppUser", "BrowserUser"],
            "per_second": self.books.tally.to_dict(),
            "open_loop": {"arrival_rate": args.rate, "poisson": args.poisson, "users": args.users},
            "hdr": self.books.recorder.encode(),
            "entries": self.books.entries() if final else [],
            "locust_errors": [],
        }

    def write(self, *, final: bool) -> None:
        target = Path(self.args.stats)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".tmp")
        partial.write_text(json.dumps(self.document(final=final)))
        partial.replace(target)  # a reader never sees half a file


def _missed_by(schedule: Schedule, stop: float) -> int:
    """Intended starts up to `stop` the user never took (it was waiting for an answer at the end)."""
    missed = 0
    while schedule.peek() <= stop:
        schedule.take()
        missed += 1
    return missed


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtest.users.sender", description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="base URL, e.g. http://127.0.0.1:8080 (with --path: a list, a,b)")
    parser.add_argument("--rate", type=float, required=True, help="requests/s in total (open loop)")
    parser.add_argument("--users", type=int, default=40, help="users, one connection each")
    parser.add_argument("--duration", type=float, required=True, help="seconds of load")
    parser.add_argument("--stats", required=True, help="the stats JSON file to write")
    parser.add_argument("--poisson", action="store_true", help="exponential gaps between a user's requests")
    parser.add_argument("--path", default="", help="plain GETs of this path instead of session users")
    args = parser.parse_args(argv)
    if (
        args.rate <= 0
        or args.users < 1
        or args.duration <= 0
        or not all(host.startswith("http://") for host in args.host.split(","))
    ):
        parser.error("--rate and --duration must be > 0, --users >= 1, --host an http:// URL")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    import uvloop

    uvloop.run(Sender(args, keep_time()).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
