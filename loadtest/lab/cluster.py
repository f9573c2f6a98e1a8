"""A local cluster (N nodes, a balancer, Redis when the store needs it) that starts fast and leaves nothing.

Redis is one private redis-server, or with `redis_cluster` a 3-master Redis Cluster of redis-server processes.
With store=replicated every node gets the whole node list as SESSION_PEERS and a fresh SESSION_PEER_SECRET; with
routing=route every node tags its session references with its node id (SESSION_ROUTE_TAG).

Every process starts at once and readiness is then polled in parallel, so a 3-node cluster is up in about
the time one Python process takes to import aiohttp. `stop()` stops every process this object started,
by PID, whatever state the start reached; a failed start raises StartupError after stopping the rest.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from loadtest.lab.balancers import BALANCERS, Balancer, Front, Upstream
from loadtest.lab.balancers.sessionlab import Sessionlab
from loadtest.lab.launcher import child_env, launch_node
from loadtest.lab.probe import request
from loadtest.lab.processes import (
    ManagedProcess,
    StartupError,
    bind_problem,
    free_ports,
    wait_until,
)
from loadtest.lab.redis_server import RedisClusterServers, RedisServer
from loadtest.lab.replication import DEFAULT_REPLICATION, cluster_traffic, node_stats, replication_env
from loadtest.lab.store_backend import StoreBackend
from nodes.contract.names import BALANCER_STATUS_PATH, NODE_ID_HEADER, REPLICATED_STORE

STATUS_PATH = BALANCER_STATUS_PATH
HEALTH_INTERVAL = 0.3  # seconds between the active checks of the other balancers (ours: its own default)

PidHook = Callable[[str, int], None]
Launch = Callable[[str, str, int, Path, Mapping[str, str]], ManagedProcess]
CLUSTER_MASTERS = 3


@dataclass(frozen=True)
class ClusterConfig:
    """What to start: the choice under test, where the balancer listens, where logs go."""

    nodes: int = 3
    routing: str = "random"
    store: str = "memory"
    host: str = "127.0.0.1"
    port: int = 0  # balancer port; 0 = a free one
    redis_url: str | None = None  # an external Redis; None = start our own when the store needs one
    redis_cluster: bool = False  # our own Redis is a 3-master Redis Cluster (redis+cluster:// URL)
    consistency: str | None = None  # the nodes' SESSION_CONSISTENCY; None = each store's default
    replication: str = DEFAULT_REPLICATION  # store=replicated: SESSION_REPLICATION-SESSION_REPLICATION_MODE
    log_dir: Path = field(default_factory=lambda: Path("."))
    health_interval: float | None = None  # None = the balancer's default
    extra_env: tuple[tuple[str, str], ...] = ()
    redis_persistence: str = "none"  # "aof": our own Redis keeps an append-only file (appendfsync everysec)
    redis_sentinel: bool = False  # our own Redis is a primary, a replica and three Sentinels (redis+sentinel://)
    store_latency_ms: float = 0.0  # added round trip between the nodes and our Redis (a delay relay)
    spares: int = 0  # more node processes, started and ready but not given to the balancer (scale-out adds them)
    with_redis: bool = False  # start our Redis even for stores that do not use it (same events for every store)
    balancer: str = "sessionlab"  # which balancer fronts the nodes (loadtest.lab.balancers.BALANCERS)
    balancer_replicas: int = 1  # replicas of that balancer, each on its own port, in front of the same nodes

    @property
    def store_backend(self) -> bool:
        """Whether our Redis is more than one plain server on loopback (see loadtest.lab.store_backend)."""
        return self.redis_sentinel or self.store_latency_ms > 0 or self.redis_persistence != "none"


@dataclass
class Member:
    """One started process of the cluster, with the URL it serves."""

    name: str
    url: str
    process: ManagedProcess


def fernet_key() -> str:
    """A fresh Fernet key, shared by the cluster's nodes so cookie sessions decrypt on every node."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


class LocalCluster:
    """Nodes, balancer and (maybe) redis-server as child processes, started together and stopped together."""

    def __init__(self, config: ClusterConfig, on_pid: PidHook | None = None) -> None:
        self.config = config
        self.on_pid = on_pid or (lambda name, pid: None)
        self.nodes: list[Member] = []
        self.balancer: Member | None = None  # the first replica of the balancer
        self.more_balancers: list[Member] = []  # the other replicas (--balancer-replicas)
        self.redis: RedisServer | None = None
        self.redis_cluster: RedisClusterServers | None = None
        self.store: StoreBackend | None = None  # our Redis when the config asks for more than a plain server
        self.redis_url = config.redis_url
        self.started_in: float | None = None
        self.frontends: list[Balancer] = [self._frontend(index) for index in range(max(config.balancer_replicas, 1))]
        self.frontend: Balancer = self.frontends[0]
        self.peer_secret = secrets.token_urlsafe(24)  # store=replicated: SESSION_PEER_SECRET, fresh per cluster
        self._retired_stats: list[dict[str, Any] | None] = []  # replication counters of node processes gone

    def _frontend(self, index: int = 0) -> Balancer:
        """The plug-in of one replica of the balancer: the first in log_dir/<balancer>, the others beside it."""
        config = self.config
        folder = config.log_dir / (config.balancer if index == 0 else f"{config.balancer}-{index + 1}")
        front = Front(config.routing, config.host, config.port if index == 0 else 0, folder)
        front.health_interval = config.health_interval or HEALTH_INTERVAL
        if config.balancer == Sessionlab.name:
            ours = Sessionlab(front, self.on_pid, dict(config.extra_env))
            ours.health_interval = config.health_interval
            return ours
        plugin = BALANCERS[config.balancer]
        offer = plugin.mechanism(config.routing)
        if not offer.offered:
            raise StartupError(f"{config.balancer} does not offer {config.routing} routing: {offer.not_offered}")
        if plugin.missing():
            raise StartupError(str(plugin.missing()))
        return plugin(front, self.on_pid)

    @property
    def admin_token(self) -> str:
        """Our balancer's runtime-API token (the other balancers have their own control planes)."""
        return self.frontend.admin_token if isinstance(self.frontend, Sessionlab) else ""

    @property
    def url(self) -> str:
        assert self.balancer is not None, "the cluster is not started"
        return self.balancer.url

    @property
    def urls(self) -> list[str]:
        """Every replica's URL, the first replica's first."""
        return [self.url, *(member.url for member in self.more_balancers)]

    def balancer_members(self) -> list[Member]:
        return [*([self.balancer] if self.balancer else []), *self.more_balancers]

    def start(self, timeout: float = 30.0) -> LocalCluster:
        """Start everything, wait until the balancer sees every node healthy; on failure stop all and raise."""
        began = time.monotonic()
        try:
            self._start_all()
            self._wait_ready(began + timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _start_all(self) -> None:
        config = self.config
        port = config.port or free_ports(1, config.host)[0]
        problem = bind_problem(port, config.host) if config.port else None
        if problem is not None:
            raise StartupError(f"balancer port {port} on {config.host}: {problem} (choose another with --port)")
        if (config.store == "redis" or config.with_redis) and not self.redis_url:
            self.redis_url = self._start_redis()
        secret = fernet_key()
        ports = free_ports(config.nodes + config.spares, config.host, avoid={port})
        extra = {**self.mode_settings([f"http://{config.host}:{p}" for p in ports]), **dict(config.extra_env)}
        self.request_logs.mkdir(parents=True, exist_ok=True)
        for index, node_port in enumerate(ports, start=1):
            env = child_env(extra, SESSION_STORE=config.store, SESSION_SECRET=secret,
                            SESSION_CONSISTENCY=config.consistency or "", REDIS_URL=self.redis_url or "",
                            NODE_REQUEST_LOG=str(self.request_logs / f"node-{index}.ids"))  # fmt: skip
            self._add(self.nodes, f"node-{index}", node_port, launch_node, env)
        replica_ports = free_ports(len(self.frontends) - 1, config.host, avoid={port, *ports})
        for frontend, front_port in zip(self.frontends, [port, *replica_ports], strict=True):
            frontend.front.port = front_port
            frontend.front.members = [Upstream(m.name, m.url.removeprefix("http://")) for m in self.members()]
        if isinstance(self.frontend, Sessionlab):  # ours waits for its nodes through its own health checks
            self._start_balancers()

    def _start_balancers(self) -> None:
        """Start every replica of the balancer (the first is `balancer`, the others `more_balancers`)."""
        self.balancer = Member("balancer", self.frontend.front.url, self.frontend.start())
        for index, frontend in enumerate(self.frontends[1:], start=2):
            self.more_balancers.append(Member(f"balancer-{index}", frontend.front.url, frontend.start()))

    def mode_settings(self, node_urls: list[str]) -> dict[str, str]:
        """Settings the choice under test needs on every node: route tags for `route`, peers for `replicated`."""
        settings = {"NODE_ROUTING": self.config.routing}  # shown on the node page
        if self.frontend.tags_routes():
            settings["SESSION_ROUTE_TAG"] = "true"
        if self.config.store == REPLICATED_STORE:
            settings |= replication_env(self.config.replication, node_urls, self.peer_secret)
        return settings

    @property
    def request_logs(self) -> Path:
        """Where each node appends the request id of every POST it receives (NODE_REQUEST_LOG)."""
        return self.config.log_dir / "request-ids"

    def posts_replayed(self) -> int:
        """POSTs that reached the nodes more than once (same request id, any nodes): replays by the balancer."""
        seen: Counter[str] = Counter()
        for path in self.request_logs.glob("*.ids"):
            seen.update(line for line in path.read_text(errors="replace").splitlines() if line)
        return sum(count - 1 for count in seen.values() if count > 1)

    def replication_traffic(self) -> dict[str, Any] | None:
        """store=replicated: messages and bytes per write and the async lag, over the nodes (gone ones: `retire`)."""
        if self.config.store != REPLICATED_STORE:
            return None
        live = [node_stats(m.url, self.peer_secret) for m in self.nodes if m.process.running()]
        return cluster_traffic([*live, *self._retired_stats])

    def retire(self, member: Member) -> None:
        """Keep a node's replication counters before its process stops or is killed: a restarted node counts
        from zero, and a failed send before a rolling deploy's restart must still show in the cell's record."""
        if self.config.store == REPLICATED_STORE and member.process.running():
            self._retired_stats.append(node_stats(member.url, self.peer_secret, timeout=0.5))

    def _start_redis(self) -> str:
        """Our own redis-server (or Redis Cluster): fast to start, and the nodes' readiness needs it."""
        config = self.config
        if config.store_backend and not config.redis_cluster:
            self.store = StoreBackend(host=config.host, log_dir=config.log_dir, persistence=config.redis_persistence,
                                      sentinel=config.redis_sentinel, delay_ms=config.store_latency_ms)  # fmt: skip
            self.store.start(self.on_pid)
            self.redis = self.store.server  # killed and restarted by the control API like our plain Redis
            return self.store.url
        if config.redis_cluster:
            self.redis_cluster = RedisClusterServers(masters=CLUSTER_MASTERS, host=config.host)
            self.redis_cluster.start()
            for server in self.redis_cluster.servers:
                self.on_pid(f"redis-server:{server.port}", int(server.pid or 0))
            return self.redis_cluster.url
        self.redis = RedisServer(host=config.host, log_dir=config.log_dir)
        self.redis.start()
        self.on_pid(f"redis-server:{self.redis.port}", int(self.redis.pid or 0))
        return self.redis.url

    def _add(self, members: list[Member], name: str, port: int, launch: Launch, env: dict[str, str]) -> Member:
        process = launch(name, self.config.host, port, self.config.log_dir, env)
        self.on_pid(name, int(process.pid or 0))
        members.append(Member(name, f"http://{self.config.host}:{port}", process))
        return members[-1]

    def node_ready(self, member: Member) -> bool:
        """The node answers its readiness check (/readyz when it needs Redis, else /healthz)."""
        needs_readyz = self.config.store in ("redis", REPLICATED_STORE)  # Redis reachable; start-up pull done
        answer = request("GET", member.url + ("/readyz" if needs_readyz else "/healthz"))
        # Its own answer: on a busy machine another program can take a free port between the pick and the bind,
        # and would pass for the node (the node then dies on "address already in use").
        return answer.status == 200 and answer.headers.get(NODE_ID_HEADER) == member.name

    def _wait_ready(self, deadline: float) -> None:
        for member in self.nodes:
            member.process.wait_ready(partial(self.node_ready, member), max(deadline - time.monotonic(), 0.1))
        if self.balancer is None:  # the others start once their nodes answer: no check then fails at start
            self._start_balancers()
        for frontend in self.frontends:
            frontend.wait_ready(max(deadline - time.monotonic(), 0.1))
        if self.frontend.sees_health():
            self.balancer_process().wait_ready(self.all_healthy, max(deadline - time.monotonic(), 0.1))

    def balancer_process(self) -> ManagedProcess:
        assert self.balancer is not None, "the cluster is not started"
        return self.balancer.process

    def status(self) -> dict[str, Any] | None:
        """Our balancer's /_balancer/status document, or None (and None for the other balancers)."""
        return self.frontend.status() if isinstance(self.frontend, Sessionlab) else None

    def healthy_urls(self) -> set[str] | None:
        """The nodes the balancer reports healthy (None when it reports nothing: passive health checks)."""
        if not self.frontend.sees_health():
            return None
        members = self.frontend.front.members
        return {f"http://{m.address}" for m in members if self.frontend.state(m.name) in ("ready", "draining")}

    def members(self) -> list[Member]:
        """The nodes given to the balancer at start (spares come after them)."""
        return self.nodes[: self.config.nodes]

    def all_healthy(self) -> bool:
        if not self.frontend.sees_health():
            return self.frontend.answers()
        healthy = self.healthy_urls()
        return healthy is not None and all(_same_origin(m.url, healthy) for m in self.members())

    def kill_node(self, index: int = 0) -> str:
        """SIGKILL one node, as a crash would; returns its node id."""
        member = self.nodes[index]
        self.retire(member)
        member.process.kill()
        return member.name

    def wait_ejected(self, node_id: str, timeout: float) -> bool:
        """Wait until the balancer reports the node unhealthy (its health check noticed the crash)."""
        member = next(m for m in self.nodes if m.name == node_id)
        if not self.frontend.sees_health():
            return False  # passive health checks: nothing reports the ejection

        def ejected() -> bool:
            healthy = self.healthy_urls()
            return healthy is not None and not _same_origin(member.url, healthy)

        return wait_until(ejected, timeout, interval=0.05)

    def processes(self) -> list[ManagedProcess]:
        return [m.process for m in [*self.nodes, *self.balancer_members()]]

    def dead_members(self) -> list[str]:
        """Names of started processes that have exited."""
        return [member.name for member in self.exited()]

    def exited(self) -> list[Member]:
        """Started processes that have exited (each knows how: `process.exit_text()`)."""
        return [m for m in [*self.nodes, *self.balancer_members()] if not m.process.running()]

    def stop(self) -> None:
        """Stop the balancer first (no traffic to dying nodes), then the nodes, then Redis. Never raises."""
        for process in reversed(self.processes()):
            process.signal(15)  # SIGTERM all at once, so their grace periods overlap
        for process in reversed(self.processes()):
            _quietly(process.stop)
        for frontend in self.frontends:
            _quietly(frontend.stop)
        if self.redis is not None:
            _quietly(self.redis.cleanup)
        if self.store is not None:
            _quietly(self.store.cleanup)
        if self.redis_cluster is not None:
            _quietly(self.redis_cluster.cleanup)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _same_origin(url: str, urls: set[str]) -> bool:
    return url.rstrip("/") in {u.rstrip("/") for u in urls}


def _quietly(action: Callable[[], object]) -> None:
    """Run a stop action; a failure must not keep the other processes from being stopped."""
    with contextlib.suppress(Exception):
        action()
