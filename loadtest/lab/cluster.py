"""A local cluster (N nodes, a balancer, Redis when the store needs it) that starts fast and leaves nothing.

Redis is one private redis-server, or with `redis_cluster` a 3-master Redis Cluster of redis-server processes.

Every process starts at once and readiness is then polled in parallel, so a 3-node cluster is up in about
the time one Python process takes to import aiohttp. `stop()` stops every process this object started,
by PID, whatever state the start reached; a failed start raises StartupError after stopping the rest.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from loadtest.lab.probe import get_json, request
from loadtest.lab.processes import (
    ManagedProcess,
    StartupError,
    free_ports,
    port_in_use,
    python_module,
    wait_until,
)
from loadtest.lab.redis_server import RedisClusterServers, RedisServer
from nodes.contract.names import BALANCER_STATUS_PATH, NODE_ID_HEADER

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATUS_PATH = BALANCER_STATUS_PATH

PidHook = Callable[[str, int], None]
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
    log_dir: Path = field(default_factory=lambda: Path("."))
    health_interval: float | None = None  # None = the balancer's default
    extra_env: tuple[tuple[str, str], ...] = ()
    spares: int = 0  # more node processes, started and ready but not given to the balancer (scale-out adds them)


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
        self.balancer: Member | None = None
        self.redis: RedisServer | None = None
        self.redis_cluster: RedisClusterServers | None = None
        self.redis_url = config.redis_url
        self.started_in: float | None = None
        self._secret = ""  # the nodes' SESSION_SECRET, made at start
        self.admin_token = secrets.token_urlsafe(24)  # for the balancer's runtime API (drain, ready, add, remove)

    @property
    def url(self) -> str:
        assert self.balancer is not None, "the cluster is not started"
        return self.balancer.url

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
        if config.port and port_in_use(port, config.host):
            raise StartupError(f"balancer port {port} on {config.host} is in use: choose another with --port")
        if config.store == "redis" and not self.redis_url:
            self.redis_url = self._start_redis()
        self._secret = fernet_key()
        node_ports = free_ports(config.nodes + config.spares, config.host, avoid={port})
        for index, node_port in enumerate(node_ports, start=1):
            self.nodes.append(self._spawn_node(f"node-{index}", node_port))
        upstreams = ",".join(member.url for member in self.members())
        env = self._env(BALANCER_HOST=config.host, BALANCER_PORT=str(port), BALANCER_UPSTREAMS=upstreams,
                        BALANCER_ROUTING=config.routing, BALANCER_ADMIN_TOKEN=self.admin_token)  # fmt: skip
        if config.health_interval is not None:
            env["BALANCER_HEALTH_INTERVAL"] = str(config.health_interval)
        self.balancer = self._spawn("balancer", f"http://{config.host}:{port}", python_module("balancer"), env)

    def _spawn_node(self, node_id: str, port: int) -> Member:
        config = self.config
        env = self._env(NODE_ID=node_id, NODE_HOST=config.host, NODE_PORT=str(port),
                        SESSION_STORE=config.store, SESSION_SECRET=self._secret,
                        SESSION_CONSISTENCY=config.consistency or "", REDIS_URL=self.redis_url or "")  # fmt: skip
        return self._spawn(node_id, f"http://{config.host}:{port}", python_module("nodes"), env)

    def start_extra_node(self, timeout: float = 20.0) -> Member:
        """One more node process (node-<N+1>, a free port, the cluster's settings), ready but not yet known to the
        balancer: the runtime API adds it (scale-out). Stopped with the rest."""
        taken = {int(m.url.rsplit(":", 1)[1]) for m in self.nodes}
        if self.balancer is not None:
            taken.add(int(self.balancer.url.rsplit(":", 1)[1]))
        member = self._spawn_node(f"node-{len(self.nodes) + 1}", free_ports(1, self.config.host, avoid=taken)[0])
        self.nodes.append(member)
        member.process.wait_ready(partial(self.node_ready, member), timeout)
        return member

    def _start_redis(self) -> str:
        """Our own redis-server (or Redis Cluster): fast to start, and the nodes' readiness needs it."""
        config = self.config
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

    def _env(self, **values: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "BALANCER_", "SESSION_"))}
        env.pop("REDIS_URL", None)
        env.pop("REDIS_CLUSTER", None)  # the URL's scheme says whether our Redis is a cluster
        env.update(PYTHONUNBUFFERED="1", **dict(self.config.extra_env))
        env.update({k: v for k, v in values.items() if v})
        return env

    def _spawn(self, name: str, url: str, argv: list[str], env: dict[str, str]) -> Member:
        log = self.config.log_dir / f"{name}.log"
        process = ManagedProcess(name, argv, env=env, log_path=log, cwd=PROJECT_ROOT).start()
        self.on_pid(name, int(process.pid or 0))
        return Member(name, url, process)

    def node_ready(self, member: Member) -> bool:
        """The node answers its readiness check (/readyz when it needs Redis, else /healthz)."""
        answer = request("GET", member.url + ("/readyz" if self.config.store == "redis" else "/healthz"))
        # Its own answer: on a busy machine another program can take a free port between the pick and the bind,
        # and would pass for the node (the node then dies on "address already in use").
        return answer.status == 200 and answer.headers.get(NODE_ID_HEADER) == member.name

    def _wait_ready(self, deadline: float) -> None:
        for member in self.nodes:
            member.process.wait_ready(partial(self.node_ready, member), max(deadline - time.monotonic(), 0.1))
        assert self.balancer is not None
        self.balancer.process.wait_ready(self.all_healthy, max(deadline - time.monotonic(), 0.1))

    def status(self) -> dict[str, Any] | None:
        """The balancer's /_balancer/status document, or None."""
        if self.balancer is None:
            return None
        document = get_json(self.balancer.url + STATUS_PATH)
        return document if isinstance(document, dict) else None

    def healthy_urls(self) -> set[str] | None:
        document = self.status()
        if document is None:
            return None
        return {u.get("url", "") for u in document.get("upstreams", []) if u.get("healthy")}

    def members(self) -> list[Member]:
        """The nodes given to the balancer at start (spares come after them)."""
        return self.nodes[: self.config.nodes]

    def all_healthy(self) -> bool:
        healthy = self.healthy_urls()
        return healthy is not None and all(_same_origin(m.url, healthy) for m in self.members())

    def kill_node(self, index: int = 0) -> str:
        """SIGKILL one node, as a crash would; returns its node id."""
        member = self.nodes[index]
        member.process.kill()
        return member.name

    def wait_ejected(self, node_id: str, timeout: float) -> bool:
        """Wait until the balancer reports the node unhealthy (its health check noticed the crash)."""
        member = next(m for m in self.nodes if m.name == node_id)

        def ejected() -> bool:
            healthy = self.healthy_urls()
            return healthy is not None and not _same_origin(member.url, healthy)

        return wait_until(ejected, timeout, interval=0.05)

    def processes(self) -> list[ManagedProcess]:
        members = [*self.nodes, *([self.balancer] if self.balancer else [])]
        return [m.process for m in members]

    def dead_members(self) -> list[str]:
        """Names of started processes that have exited."""
        return [m.name for m in [*self.nodes, *([self.balancer] if self.balancer else [])] if not m.process.running()]

    def stop(self) -> None:
        """Stop the balancer first (no traffic to dying nodes), then the nodes, then Redis. Never raises."""
        for process in reversed(self.processes()):
            process.signal(15)  # SIGTERM all at once, so their grace periods overlap
        for process in reversed(self.processes()):
            _quietly(process.stop)
        if self.redis is not None:
            _quietly(self.redis.cleanup)
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
