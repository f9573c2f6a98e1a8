"""What one cell of the matrix runs, as a frozen record every part shares (plan, scenarios, run, record, report).

It sits below everything that uses it and imports none of them, so a scenario can name the cell it is judged on
without importing the module that builds the result.
"""

from __future__ import annotations

from dataclasses import dataclass

from nodes.contract.names import REDIS, REPLICATED_STORE, default_consistency

PERSISTENCE_WORDS = {"none": "no persistence", "aof": "AOF"}  # --redis-persistence values as a team names them


def posture_label(store: str, replication: str | None = None, persistence: str | None = None,
                  setup: str | None = None) -> str:  # fmt: skip
    """The store in the posture it ran, as the grid and the decision name it: `redis (AOF)`, `redis (Sentinel)`,
    `replicated all-sync`, `memory`; a redis cell that does not say its persistence (older results) is `redis`."""
    if replication:
        return f"{store} {replication}"
    if store != REDIS or (persistence is None and setup is None):
        return store
    words = [setup] if setup else []
    if persistence and (persistence != "none" or not setup):
        words.append(PERSISTENCE_WORDS.get(persistence, persistence))
    return f"{store} ({', '.join(words)})"


# The postures the default matrix names (scenarios' `in_default` pick cells by them): Redis as a team runs it (AOF,
# appendfsync everysec) and the naive one beside it, and the replicated store with synchronous copies.
REDIS_AOF, REDIS_NAIVE = posture_label(REDIS, persistence="aof"), posture_label(REDIS, persistence="none")
SYNC_REPLICATED = tuple(posture_label(REPLICATED_STORE, mode) for mode in ("all-sync", "backup-sync"))


@dataclass(frozen=True)
class CellSpec:
    """What one cell runs: the choice under test and the load."""

    routing: str
    store: str
    scenario: str
    nodes: int
    users: int
    duration: float
    workers: int = 0
    consistency: str | None = None  # the nodes' SESSION_CONSISTENCY; None = the store's default
    revocation_bound: float = 0.0  # > 0: after the load, measure how long a session outlives logout-all
    arrival_rate: float = 0.0  # > 0: open loop at this many requests/s in total (loadtest/users/schedule.py)
    poisson: bool = False  # open loop with exponential gaps
    user_classes: tuple[str, ...] = ()  # the locustfile's classes to run instead of the scenario's
    store_latency_ms: float = 0.0  # --store-latency: added round trip between the nodes and Redis
    outage: float = 3.0  # --outage: seconds Redis stays down in store-failure
    redis_persistence: str = "none"  # --redis-persistence: none or aof
    replication: str | None = None  # store=replicated: all-sync, all-async, backup-sync, backup-async
    balancer: str = "sessionlab"  # --balancer: which balancer fronts the nodes (loadtest.lab.balancers)
    balancer_replicas: int = 1  # --balancer-replicas: replicas of it in front of the same nodes, users spread over them
    long_lived: float = 0.0  # --long-lived: the share of users that keep a WebSocket open (LongLivedUser)
    rebalance: float = 0.0  # --rebalance: share of open WebSockets the balancer closes (1001) when a node joins

    def posture(self, setup: str | None = None) -> str:
        """`posture_label` of this cell; `setup` is the scenario's own store set-up (Sentinel), if any."""
        persistence = self.redis_persistence if self.store == REDIS else None
        return posture_label(self.store, self.replication, persistence, setup)

    @property
    def store_label(self) -> str:
        """The store as the report names it: `replicated all-sync` for the replicated store."""
        return f"{self.store} {self.replication}" if self.replication else self.store

    drain_seconds: float = 2.0  # membership changes: how long a node drains before it is stopped or removed
    deploy_mode: str = "drain"  # rolling-deploy: "drain" (drain, SIGTERM, restart, ready) or "kill" (SIGKILL, restart)

    @property
    def label(self) -> str:
        mode = f" / {self.consistency}" if self.consistency else ""
        front = "" if self.balancer == "sessionlab" else f"{self.balancer}: "
        front += f"{self.balancer_replicas} replicas: " if self.balancer_replicas > 1 else ""
        return f"{front}{self.routing} / {self.store_label} / {self.scenario}{mode}{self.store_variant}"

    @property
    def store_variant(self) -> str:
        """How the shared store differs from the default (a hop away, persistent), for labels and folders."""
        latency = f" / +{self.store_latency_ms:g} ms" if self.store_latency_ms else ""
        return latency + (f" / {self.redis_persistence}" if self.redis_persistence != "none" else "")

    @property
    def effective_consistency(self) -> str:
        return self.consistency or default_consistency(self.store)


@dataclass(frozen=True)
class Kill:
    """A node the runner SIGKILLed: which, and when (seconds after the load started)."""

    node: str
    at_s: float
    ejected_at_s: float | None = None  # when the balancer's health check marked it down, if seen
