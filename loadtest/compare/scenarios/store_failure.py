"""store-failure: the Redis process is SIGKILLed at the midpoint and started again on its port after --outage s.

Redis cells answer 503 with Retry-After while it is down (errors, never 500s) and serve again within 2 s of its
return. With no persistence every session is gone afterwards, so each redis user misses once; with
`--redis-persistence aof` sessions come back from the file. Memory and cookie cells go through the same events
(their nodes get a Redis too) and do not notice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from loadtest.compare.scenarios.base import ErrorTheory, Event, Scenario
from loadtest.compare.scenarios.store_actions import PROBE_EVENT, FaultClock, kill_store, restart_store, start_probe
from loadtest.compare.spec import REDIS_AOF, REDIS_NAIVE
from loadtest.compare.theory.expect import expect
from loadtest.compare.theory.model import Expectation, Exposure
from loadtest.lab.cluster import ClusterConfig
from nodes.contract.names import RANDOM

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec

PROBE_LEAD = 1.0  # seconds the session probe writes before the kill
AFTER_RETURN = 4.0  # seconds of load wanted after Redis is back


def kill_time(spec: CellSpec) -> float:
    """The midpoint, or earlier in a short run: users need a few seconds after Redis' return to show its effect."""
    return max(min(0.5 * spec.duration, spec.duration - spec.outage - AFTER_RETURN), 0.3 * spec.duration)


class StoreFailure(Scenario):
    name = "store-failure"
    survives = "store restart"
    about_the_store = True
    through_the_balancer = False
    description = "Redis SIGKILLed at the midpoint, restarted on its port after --outage s (memory and cookie too)"
    routings = (RANDOM,)

    def in_default(self, store: str, routing: str) -> bool:
        # Redis as a team runs it (AOF) beside the naive one; memory and cookie keep nothing in Redis (--all)
        return store in (REDIS_AOF, REDIS_NAIVE)

    def cluster(self, config: ClusterConfig) -> ClusterConfig:
        return replace(config, with_redis=True)

    def events(self, spec: CellSpec) -> list[Event]:
        clock, down = FaultClock(), kill_time(spec)
        return [
            Event(max(down - PROBE_LEAD, 0.0), start_probe(clock), PROBE_EVENT),
            Event(down, kill_store(clock), "SIGKILL redis-server"),
            Event(down + spec.outage, restart_store(clock), f"restart redis-server ({spec.outage:g} s later)"),
        ]

    def theory(self, spec: CellSpec, exposure: Exposure) -> Expectation:
        if spec.store != "redis" or spec.redis_persistence == "aof":
            base = expect(spec.routing, spec.store, exposure)
            why = "AOF: every acknowledged session comes back from the file (a killed process loses nothing the " \
                "kernel has; everysec only risks the last second on a machine crash)" if spec.store == "redis" else \
                "this store keeps no session in Redis: the outage changes nothing"  # fmt: skip
            return replace(base, explanation=f"{base.explanation} {why}")
        users = sum(exposure.users.values())
        n = exposure.session_requests
        return Expectation(float(users), float(users), n, 0.0, users / n if n else 0.0,
                           "no persistence: Redis restarts empty, so every session is gone and each user misses "
                           "once (then logs in again)")  # fmt: skip

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        if spec.store != "redis":
            return ErrorTheory(0, "the store does not use Redis: no request should fail")
        return ErrorTheory(None, f"every session request during the {spec.outage:g} s outage is a 503 with "
                           "Retry-After (never a 500); how many depends on the users' pace")  # fmt: skip
