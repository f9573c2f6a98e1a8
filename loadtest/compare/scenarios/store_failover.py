"""store-failover: a primary, a replica and three Sentinels; nodes find the primary through Sentinel
(redis+sentinel://). At the midpoint the primary is SIGKILLed and Sentinel promotes the replica (~2-3 s).

Measured: `outage_s` (503s until writes succeed again), `sessions_lost` (acknowledged before the kill, unknown
after the promotion) and the errors by status (503 only, never 500). `store-failover-wait` runs the same with
SESSION_REDIS_WAIT=1: each write waits for the replica's acknowledgement, which costs write latency and should
save every acknowledged session.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from loadtest.compare.scenarios.base import ErrorTheory, Event, Scenario
from loadtest.compare.scenarios.store_actions import PROBE_EVENT, FaultClock, kill_primary, start_probe
from loadtest.compare.spec import REDIS_NAIVE
from loadtest.compare.theory.expect import expect
from loadtest.compare.theory.model import Expectation, Exposure
from loadtest.lab.cluster import ClusterConfig
from nodes.contract.names import RANDOM

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec

PROBE_LEAD = 1.0


class StoreFailover(Scenario):
    name = "store-failover"
    survives = "store failover"
    about_the_store = True
    through_the_balancer = False
    description = "primary + replica + 3 Sentinels; the primary is SIGKILLed at the midpoint (redis store only)"
    routings = (RANDOM,)
    store_setup = "Sentinel"
    wait_replicas = 0

    def in_default(self, store: str, routing: str) -> bool:
        return store == REDIS_NAIVE  # the Sentinel set is the posture here (its replica keeps the sessions)

    def cluster(self, config: ClusterConfig) -> ClusterConfig:
        env = (("SESSION_REDIS_WAIT", str(self.wait_replicas)),) if self.wait_replicas else ()
        return replace(config, redis_sentinel=True, extra_env=config.extra_env + env)

    def variants(self, store: str, consistency: tuple[str, ...]) -> tuple[str | None, ...]:
        return (None,) if store == "redis" else ()

    def events(self, spec: CellSpec) -> list[Event]:
        clock, middle = FaultClock(), 0.5 * spec.duration
        return [
            Event(max(middle - PROBE_LEAD, 0.0), start_probe(clock), PROBE_EVENT),
            Event(middle, kill_primary(clock), "SIGKILL the Redis primary"),
        ]

    def theory(self, spec: CellSpec, exposure: Exposure) -> Expectation:
        base = expect(spec.routing, spec.store, exposure)
        why = ("WAIT: every acknowledged write reached the replica before the answer, so the promoted replica has "
               "every session; no miss" if self.wait_replicas else "asynchronous replication: writes the replica "
               "had not received when the primary died are lost (on loopback the lag is well under a millisecond, "
               "so few or none); sessions_lost says how many")  # fmt: skip
        return replace(base, explanation=why, exact_zero=bool(self.wait_replicas))

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        why = (
            "requests between the kill and the promotion get 503s (connection refused, or READONLY from a demoted "
            "primary), never 500s; how many depends on the users' pace"
        )
        return ErrorTheory(None, why)


class StoreFailoverWait(StoreFailover):
    name = "store-failover-wait"
    description = "store-failover with SESSION_REDIS_WAIT=1: each session write waits for the replica"
    store_setup = "Sentinel, WAIT 1"
    wait_replicas = 1
