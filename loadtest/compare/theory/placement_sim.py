"""A seeded replay of one cell's request sequence through the balancer's real routing policy, to count misses.

Round robin is not random: under an open-loop schedule every user sends at fixed points of a common period, so the
round-robin slots a user's requests take fall into step, and a miss and its re-login take two slots in a row. No
independence assumption captures that, so this module plays the locustfile's users forward in time (closed loop:
login, request, think time from loadtest/users/pacing.py, re-login after a miss; open loop: the same schedules
as loadtest/users/openloop.py, phase k x golden ratio on a grid shared by a process's users) and hands every
request to the balancer's own policy (balancer/routing) over its own `UpstreamRegistry`, with a node kill
handled as the data path does (the first request to the dead node marks it down and is routed again).

The memory store is modelled exactly: a session lives on the node that served its login; a request to any other
node (or after its node died) is a miss, and the user logs in again at once. Response times are drawn from the
run's own histogram of answers. Everything random (think times, response times, the random policy) comes from
one seed, so a replication is reproducible and many of them give the spread of the count.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import logging
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from balancer.routing import POLICIES, Router
from balancer.routing.base import RouteRequest, RoutingPolicy
from balancer.routing.random import RandomPolicy
from balancer.settings import BalancerSettings
from balancer.upstreams import Upstream, UpstreamRegistry
from loadtest.users.pacing import WAIT_MAX_S, WAIT_MIN_S
from loadtest.users.schedule import user_phase
from nodes.contract.names import RANDOM

SPAWN_GAP_S = 0.0002  # locust starts a batch's users one greenlet after another, all classes in one go


@dataclass(frozen=True)
class LoadModel:
    """The load of one cell, as the locustfile generates it."""

    kinds: tuple[str, ...]  # one entry per user, in spawn order ("browser", "app")
    duration: float
    latency_ms: tuple[tuple[float, int], ...]  # (response time, count): the run's own answers (hashable)
    arrival_rate: float = 0.0  # > 0: open loop, requests/s in total
    poisson: bool = False
    workers: int = 0  # locust worker processes: each keeps its own schedule grid and phases
    wait_s: tuple[float, float] = (WAIT_MIN_S, WAIT_MAX_S)
    # the same per second of the run, (seconds since the start, histogram): answers slow down and speed up together,
    # and a slow spell reorders re-logins and turns for seconds at a time, which draws from the whole run would not
    latency_by_second: tuple[tuple[float, tuple[tuple[float, int], ...]], ...] = ()


@dataclass(frozen=True)
class Disruption:
    """A node SIGKILLed `at` seconds after the load began; `ejected_at` when the health check saw it (if known)."""

    victim: int  # index into the node list
    at: float
    ejected_at: float | None = None


@dataclass
class Tally:
    """Session requests and misses per user kind, before and after the kill."""

    requests: dict[tuple[str, bool], int] = field(default_factory=dict)
    misses: dict[tuple[str, bool], int] = field(default_factory=dict)

    def count(self, kind: str, after: bool, missed: bool) -> None:
        key = (kind, after)
        self.requests[key] = self.requests.get(key, 0) + 1
        if missed:
            self.misses[key] = self.misses.get(key, 0) + 1


def spawn_order(users: Mapping[str, int], kinds: Sequence[str] = ("browser", "app")) -> tuple[str, ...]:
    """Users in the order locust starts them: with -r equal to -u, one batch, class after class."""
    return tuple(kind for kind in kinds for _ in range(users.get(kind, 0)))


def make_policy(routing: str, rng: random.Random) -> RoutingPolicy:
    """The balancer's own policy with its default settings (the random one on the replication's seed)."""
    if routing == RANDOM:
        return RandomPolicy(rng)
    return POLICIES[routing].from_settings(BalancerSettings(upstreams=()))


class Histogram:
    """Draws response times (s) from a histogram of measured ones."""

    def __init__(self, histogram: Sequence[tuple[float, int]]) -> None:
        points = sorted((value, n) for value, n in histogram if n > 0) or [(2.0, 1)]
        self._values = [value / 1000 for value, _ in points]
        self._cumulative = list(itertools.accumulate(n for _, n in points))

    def draw(self, rng: random.Random) -> float:
        pick = rng.random() * self._cumulative[-1]
        return self._values[min(bisect.bisect_right(self._cumulative, pick), len(self._values) - 1)]


class LatencySampler:
    """Response times as the run had them at each moment: its histogram of that second, else of the whole run."""

    def __init__(self, load: LoadModel, rng: random.Random) -> None:
        self._whole = Histogram(load.latency_ms)
        self._starts = [start for start, _ in load.latency_by_second]
        self._seconds = [Histogram(histogram) for _, histogram in load.latency_by_second]
        self._rng = rng

    def __call__(self, now: float) -> float:
        index = bisect.bisect_right(self._starts, now) - 1
        if index >= 0 and now < self._starts[index] + 1:
            return self._seconds[index].draw(self._rng)
        return self._whole.draw(self._rng)


@dataclass
class User:
    """One simulated locust user: where its session lives and the balancer cookie it holds."""

    kind: str
    process: int
    session: Upstream | None = None
    cookie: str = ""
    intended: float = 0.0  # open loop: the next intended start
    interval: float = 0.0


class Replay:
    """One replication: every user's requests, in time order, through the real router."""

    def __init__(self, routing: str, nodes: int, load: LoadModel, kill: Disruption | None, seed: int) -> None:
        self.rng = random.Random(seed)
        self.load, self.kill = load, kill
        self.registry = UpstreamRegistry([f"http://node-{index + 1}" for index in range(nodes)])
        self.router = Router(make_policy(routing, self.rng), self.registry)
        self.latency = LatencySampler(load, self.rng)
        self.dead: Upstream | None = None
        self.tally = Tally()
        self._events: list[tuple[float, int, str, int]] = []
        self._order = itertools.count()
        processes = max(load.workers, 1)
        self.users = [User(kind, index % processes) for index, kind in enumerate(load.kinds)]
        self._epochs: dict[int, float] = {}
        self._pacers = [itertools.count() for _ in range(processes)]

    def run(self) -> Tally:
        log = logging.getLogger("balancer.upstreams")
        was_disabled, log.disabled = log.disabled, True  # a simulated node going down is no news
        try:
            for index in range(len(self.users)):
                self._at(index * SPAWN_GAP_S, "login", index)
            if self.kill is not None:
                self._at(self.kill.at, "kill", -1)
                if self.kill.ejected_at is not None:
                    self._at(self.kill.ejected_at, "eject", -1)
            while self._events:
                now, _, what, index = heapq.heappop(self._events)
                if now > self.load.duration:  # locust stops its users at the end of the run
                    break
                getattr(self, f"_on_{what}")(now, index)
        finally:
            log.disabled = was_disabled
        return self.tally

    def _at(self, when: float, what: str, index: int) -> None:
        heapq.heappush(self._events, (when, next(self._order), what, index))

    # -- the balancer's side -------------------------------------------------------------------------

    def route(self, user: User) -> Upstream:
        """The node the balancer picks for this user's next request (a dead one is marked down, routed again)."""
        request = RouteRequest(cookie=user.cookie, session_token=None)
        chosen = self.router.route(request)
        if chosen.upstream is self.dead:
            self.registry.mark_down(chosen.upstream, "connection refused")
            chosen = self.router.route(request, exclude=chosen.upstream)
        if chosen.set_cookie is not None and user.kind == "browser":
            user.cookie = chosen.set_cookie.split(";", 1)[0]
        return chosen.upstream

    def _on_kill(self, now: float, _: int) -> None:
        assert self.kill is not None
        self.dead = self.registry.members[self.kill.victim]

    def _on_eject(self, now: float, _: int) -> None:
        if self.dead is not None:
            self.registry.mark_down(self.dead, "health check")

    # -- the users' side -----------------------------------------------------------------------------

    def _on_login(self, now: float, index: int) -> None:
        """on_start: log in, then the first task at once (closed) or at the first turn (open)."""
        user = self.users[index]
        user.session = self.route(user)
        done = now + self.latency(now)
        self._at(done, "request" if not self.load.arrival_rate else "first_turn", index)

    def _on_first_turn(self, now: float, index: int) -> None:
        """openloop.OpenLoop.new_pacer: the user's phase on its process's grid."""
        user = self.users[index]
        per_user = self.load.arrival_rate / len(self.users)
        user.interval = 1.0 / per_user
        epoch = self._epochs.setdefault(user.process, now)
        grid = epoch + math.ceil((now - epoch) / user.interval - 1e-12) * user.interval
        phase = user_phase(next(self._pacers[user.process]))
        user.intended = grid + (self._gap(per_user) if self.load.poisson else phase * user.interval)
        self._at(max(user.intended, now), "request", index)

    def _gap(self, rate: float) -> float:
        return self.rng.expovariate(rate) if self.load.poisson else 1.0 / rate

    def _on_request(self, now: float, index: int) -> None:
        user = self.users[index]
        node = self.route(user)
        done = now + self.latency(now)
        missed = node is not user.session
        self.tally.count(user.kind, self.kill is not None and now >= self.kill.at, missed)
        if missed:  # the locustfile logs in again as soon as the miss is answered
            self._at(done, "relogin", index)
        else:
            self._next(done, index)

    def _on_relogin(self, now: float, index: int) -> None:
        user = self.users[index]
        user.session = self.route(user)
        self._next(now + self.latency(now), index)

    def _next(self, done: float, index: int) -> None:
        """The user's next request: think time after the answer (closed), or its next turn (open)."""
        user = self.users[index]
        if self.load.arrival_rate:
            user.intended += self._gap(self.load.arrival_rate / len(self.users))
            self._at(max(user.intended, done), "request", index)
        else:
            self._at(done + self.rng.uniform(*self.load.wait_s), "request", index)


def replay(routing: str, nodes: int, load: LoadModel, kill: Disruption | None, seed: int) -> Tally:
    """One replication of the cell's requests (see the module's docstring)."""
    return Replay(routing, nodes, load, kill, seed).run()
