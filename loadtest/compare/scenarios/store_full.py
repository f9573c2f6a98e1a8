"""store-full: Redis with a maxmemory (--redis-maxmemory MB, default 3) and an eviction policy (--redis-eviction,
one cell per policy), filled past its limit by logins of users who then go idle and never log out.

A filler (an app client, outside locust) logs in padded sessions through the balancer until twice the limit was
written, keeping each acknowledged one; after the load it asks for every one of them. With `allkeys-lru` or
`volatile-lru` Redis evicts least recently used sessions to make room: the filler's users, who never logged out,
find theirs gone (`filler_sessions_lost`, next to Redis' own `evicted_keys`). With `noeviction` Redis refuses the
writes instead: logins answer 503 with a readable body (`logins_refused`), never a 500, and no acknowledged
session is lost. The locust users keep working meanwhile (their writes get 503s under noeviction). Memory and
cookie cells go through the same filling and show what their stores do with it (nothing is limited).
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from loadtest.compare.scenarios.base import ErrorTheory, Event, Scenario
from loadtest.compare.theory.expect import expect
from loadtest.compare.theory.model import Expectation, Exposure
from loadtest.lab.background import BackgroundLoop
from loadtest.lab.cluster import ClusterConfig
from loadtest.lab.probe import request
from loadtest.lab.session_probe import app_login
from nodes.contract.names import COOKIE, RANDOM, REDIS, TOKEN_HEADER

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from loadtest.compare.spec import CellSpec
    from loadtest.lab.control import ClusterControl

DEFAULT_EVICTIONS = ("allkeys-lru", "noeviction")
DEFAULT_MB = 3.0
PAD_KB = 16.0  # the filler's sessions' size when the cell names none: 3 MB is passed in ~200 logins
OVERFILL = 2.0  # the filler writes this many times the limit
MAX_LOGINS = 2000
START = 0.5  # seconds into the load the filler starts
SECOND_SHARE = 0.25  # the filler writes at most this share of what the store holds per second
AFTER_FILL = 3.0  # seconds of load after the filler is done
TIMEOUT = 2.0


@dataclass
class Filler(BackgroundLoop):
    """Logs in sessions through `url` (one new user each) until `target` were tried or stop(); keeps each token."""

    url: str
    target: int
    per_second: float  # logins started per second at most
    tokens: list[str] = field(default_factory=list)
    refused: int = 0  # logins answered 503 (the store is full)
    other_failures: dict[str, int] = field(default_factory=dict)  # anything else, by status

    def _run(self) -> None:
        began = time.monotonic()
        for index in range(self.target):
            if self.stopping(max(began + index / self.per_second - time.monotonic(), 0.0)):
                return
            answer, token = app_login(self.url, f"filler-{uuid.uuid4().hex[:10]}", TIMEOUT)
            if answer.status == 200 and token:
                self.tokens.append(token)
            elif answer.status == 503:
                self.refused += 1
            else:
                key = str(answer.status or "connection")
                self.other_failures[key] = self.other_failures.get(key, 0) + 1

    def lost(self, node_urls: Sequence[str]) -> tuple[int, int]:
        """(sessions asked for, sessions gone): every acknowledged session, asked of each node directly until one
        has it (GET /me, 200); gone when none has it (a memory session lives on one node: through a spreading
        balancer it would look lost where it only was elsewhere)."""
        gone = 0
        for token in self.tokens:
            if not any(request("GET", url + "/me", headers={TOKEN_HEADER: token}, timeout=TIMEOUT).status == 200
                       for url in node_urls):  # fmt: skip
                gone += 1
        return len(self.tokens), gone


def sessions_held(spec: CellSpec) -> float:
    """About how many padded sessions the limit holds."""
    return (spec.session.redis_maxmemory_mb or DEFAULT_MB) * 1024 / max(spec.session.session_kb, 1.0)


def logins_to_fill(spec: CellSpec) -> int:
    """Logins that write OVERFILL times the limit in padded sessions."""
    return min(math.ceil(OVERFILL * sessions_held(spec)), MAX_LOGINS)


def fill_rate(spec: CellSpec) -> float:
    """Logins per second: a SECOND_SHARE of what the store holds. Redis' LRU clock ticks once a second, so keys
    used within the same second tie; while each second's new sessions are a minority, older idle ones are there to
    evict first (at full speed 17 of 8 users' sessions went too; a loaded machine still lets some go)."""
    return max(SECOND_SHARE * sessions_held(spec), 1.0)


class StoreFull(Scenario):
    name = "store-full"
    about_the_store = True
    description = ("Redis with --redis-maxmemory and --redis-eviction (one cell each), filled past its limit by "
                   "logins of users who then go idle")  # fmt: skip
    routings = (RANDOM,)

    def __init__(self) -> None:
        self.filler: Filler | None = None  # the cell's filler, from its start event to after_load

    def session_variants(self, spec: CellSpec, sweeps: Mapping[str, tuple[str, ...] | None]) -> list[CellSpec]:
        """Redis: one cell per eviction policy; every store: padded sessions unless the cell names a size (a cookie
        keeps its own size: padding it past 4 KB would refuse every login)."""
        kb = spec.session.session_kb or (0.0 if spec.store == COOKIE else PAD_KB)
        policies = (sweeps.get("redis_eviction") or DEFAULT_EVICTIONS) if spec.store == REDIS else (None,)
        return [replace(spec, session=replace(spec.session, session_kb=kb, redis_eviction=policy,
                                              redis_maxmemory_mb=spec.session.redis_maxmemory_mb or
                                              (DEFAULT_MB if policy else None)))
                for policy in policies]  # fmt: skip

    def cluster(self, config: ClusterConfig) -> ClusterConfig:
        return replace(config, with_redis=True)

    def duration(self, spec: CellSpec) -> float:
        """The filler's logins at its pace, and some load after them."""
        return max(spec.duration, math.ceil(START + logins_to_fill(spec) / fill_rate(spec) + AFTER_FILL))

    def events(self, spec: CellSpec) -> list[Event]:
        target = logins_to_fill(spec)

        def fill(control: ClusterControl) -> dict[str, Any]:
            self.filler = Filler(control.cluster.url, target, fill_rate(spec)).start()
            return {"outcome": f"filler logging in {target} sessions of {spec.session.session_kb:g} KB"}

        return [Event(START, fill, f"fill the store: {target} logins")]

    def after_load(self, spec: CellSpec, control: ClusterControl) -> dict[str, Any]:
        filler = self.filler
        if filler is None:
            return {}
        filler.stop()
        asked, gone = filler.lost([member.url for member in control.cluster.nodes if member.process.running()])
        policy = spec.session.redis_eviction
        if spec.store == REDIS and policy != "noeviction":
            agrees = gone > 0
            why = f"{policy} past maxmemory: some idle sessions are evicted"
        else:
            agrees = gone == 0
            why = "noeviction refuses writes and drops nothing" if spec.store == REDIS else "nothing is limited"
        return {"filler_logins": len(filler.tokens) + filler.refused + sum(filler.other_failures.values()),
                "filler_logins_refused": filler.refused, "filler_other_failures": dict(filler.other_failures),
                "filler_sessions_checked": asked, "filler_sessions_lost": gone,
                "filler_sessions_lost_theory": why, "filled_at_s": START,
                "judged": {"filler_sessions_lost_agrees": ("sessions lost", agrees)}}  # fmt: skip

    def theory(self, spec: CellSpec, exposure: Exposure) -> Expectation:
        base = expect(spec.routing, spec.store, exposure)
        if spec.store != REDIS or spec.session.redis_eviction == "noeviction":
            why = "noeviction drops no key" if spec.store == REDIS else "this store is not limited"
            return replace(base, explanation=f"{base.explanation} {why}: the active users lose nothing.")
        return replace(base, exact_zero=False, explanation=f"{base.explanation} {spec.session.redis_eviction} "
                       "evicts the least recently used keys, the filler's idle sessions first (it writes at most a "
                       "quarter of the store per second).")  # fmt: skip

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        if spec.store == REDIS and spec.session.redis_eviction == "noeviction":
            return ErrorTheory(None, "past maxmemory every write is a 503 (store full) with a readable body, never a "
                               "500; how many depends on the users' pace")  # fmt: skip
        return ErrorTheory(0, "nothing refuses a write: no request should fail")
