"""What one cell of the matrix runs, as a frozen record every part shares (plan, scenarios, run, record, report).

It sits below everything that uses it and imports none of them, so a scenario can name the cell it is judged on
without importing the module that builds the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nodes.contract.names import DENYLIST_REDIS, REDIS, REPLICATED_STORE, default_consistency

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


MIN_LIFETIME_S = 1  # the nodes and the balancer count lifetimes in whole seconds (a cookie's Max-Age is one)


@dataclass(frozen=True)
class SessionKnobs:
    """One cell's session knobs; None / 0 leave the nodes' defaults. Lifetimes and gaps as the user gave them,
    unscaled: `scaled()` is what the processes get."""

    session_kb: float = 0.0  # SESSION_PAD_KB: filler put into every session at login
    idle_gap: float = 0.0  # seconds a user pauses between stretches of activity (unscaled)
    time_scale: float = 1.0
    session_ttl: float | None = None  # SESSION_TTL (unscaled)
    sticky_ttl: float | None = None  # BALANCER_STICKY_TTL (unscaled)
    touch: str | None = None  # SESSION_TOUCH: always, on-change, lazy:<s> (s unscaled)
    save: str | None = None  # SESSION_SAVE: always, on-change
    redis_maxmemory_mb: float | None = None
    redis_eviction: str | None = None
    schema_compat: str | None = None  # mixed-version cells: SESSION_SCHEMA_COMPAT
    cookie_denylist: bool = False  # SESSION_COOKIE_DENYLIST=redis: a cookie logout is refused by every node

    def scaled(self, seconds: float) -> int:
        """A lifetime as the processes get it: scaled, in whole seconds, at least one."""
        return max(MIN_LIFETIME_S, math.ceil(seconds * self.time_scale - 1e-9))

    @property
    def gap_s(self) -> float:
        """The idle gap the users take, scaled."""
        return self.idle_gap * self.time_scale

    @property
    def lazy_interval(self) -> float | None:
        """SESSION_TOUCH=lazy:<s>: s, unscaled; None for the other policies."""
        return float(self.touch.split(":", 1)[1]) if self.touch and self.touch.startswith("lazy:") else None

    def node_env(self) -> tuple[tuple[str, str], ...]:
        """The nodes' (and our balancer's) environment for these knobs (CONTRACT-23's names)."""
        env: list[tuple[str, str]] = []
        if self.session_kb:
            env.append(("SESSION_PAD_KB", f"{self.session_kb:g}"))
        if self.session_ttl is not None:
            env.append(("SESSION_TTL", str(self.scaled(self.session_ttl))))
        if self.touch is not None:
            lazy = self.lazy_interval
            env.append(("SESSION_TOUCH", self.touch if lazy is None else f"lazy:{self.scaled(lazy)}"))
        if self.save is not None:
            env.append(("SESSION_SAVE", self.save))
        if self.sticky_ttl is not None:
            env.append(("BALANCER_STICKY_TTL", str(self.scaled(self.sticky_ttl))))
        if self.schema_compat is not None:
            env.append(("SESSION_SCHEMA_COMPAT", self.schema_compat))
        if self.cookie_denylist:
            env.append(("SESSION_COOKIE_DENYLIST", DENYLIST_REDIS))
        return tuple(env)

    @property
    def label(self) -> str:
        """How a cell's label names the knobs that differ from the defaults (`/ 16 KB / gap 30 s`)."""
        words = [f"{self.session_kb:g} KB"] if self.session_kb else []
        words += [f"gap {self.idle_gap:g} s"] if self.idle_gap else []
        words += [f"touch {self.touch}"] if self.touch else []
        words += [f"save {self.save}"] if self.save else []
        words += [self.redis_eviction] if self.redis_eviction else []
        words += [self.schema_compat] if self.schema_compat else []
        return "".join(f" / {word}" for word in words)


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
    long_lived_kind: str = "ws"  # --long-lived-kind: ws, sse or both (loadtest/compare/run/locustrun.py)
    rebalance: float = 0.0  # --rebalance: share of open WebSockets the balancer closes (1001) when a node joins
    session: SessionKnobs = field(default_factory=SessionKnobs)  # size, idle gap, lifetimes, a full store (issue 23)

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
        knobs = self.store_variant + self.session.label
        return f"{front}{self.routing} / {self.store_label} / {self.scenario}{mode}{knobs}"

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
