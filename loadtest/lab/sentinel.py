"""A Redis primary, one replica and three Sentinels on free loopback ports: the failover the lab measures.

Every process is the lab's own server binary (`<server> sentinel.conf --sentinel` for a Sentinel; the conf file
lives in a private, writable folder because Sentinel rewrites it). With `down-after-milliseconds 1000` and a
quorum of 2, a SIGKILLed primary is replaced by its replica in about 2-3 s on loopback.

With a `DelayRelay`, every address a client learns goes through the relay: the node's URL names the Sentinels'
delayed twins, Sentinel monitors the primary's twin, and each server announces its twin to Sentinel
(`replica-announce-port`), so after a failover Sentinel hands out the new primary's delayed address too.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import redis

from loadtest.lab.processes import ManagedProcess, StartupError, free_ports, wait_until
from loadtest.lab.redis_server import RedisServer
from loadtest.lab.relay import DelayRelay
from loadtest.lab.server_binary import ServerBinary, find_server
from nodes.contract.names import REDIS_SENTINEL_SCHEME

MASTER_NAME = "mymaster"
SENTINELS = 3
QUORUM = 2
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 10000
SENTINEL_SCHEME = REDIS_SENTINEL_SCHEME


def sentinel_conf(port: int, host: str, primary: tuple[str, int], workdir: Path) -> str:
    return "\n".join([
        f"port {port}",
        f"bind {host}",
        f"dir {workdir}",
        f"sentinel monitor {MASTER_NAME} {primary[0]} {primary[1]} {QUORUM}",
        f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
        f"sentinel parallel-syncs {MASTER_NAME} 1",
        "",
    ])  # fmt: skip


class SentinelSet:
    """Primary, replica and three Sentinels, started together, stopped together by PID."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        binary: ServerBinary | None = None,
        delay_ms: float = 0.0,
        log_dir: Path | None = None,
        server_args: tuple[str, ...] = (),
    ) -> None:
        self.host = host
        self.binary = binary or find_server()
        self.workdir = Path(tempfile.mkdtemp(prefix="sessionlab-sentinel-"))
        self.log_dir = log_dir or self.workdir
        ports = free_ports(2 + SENTINELS, host)
        self.sentinel_ports = ports[2:]
        self.relay = DelayRelay(delay_ms, ports, host=host, log_dir=self.log_dir) if delay_ms > 0 else None
        self.primary = self._server(ports[0], (), server_args)
        primary = self.address(ports[0])  # through the relay too: replication crosses the same hop
        self.replica = self._server(ports[1], ("--replicaof", primary[0], str(primary[1])), server_args)
        self.sentinels: list[ManagedProcess] = []

    def _server(self, port: int, role: tuple[str, ...], extra: tuple[str, ...]) -> RedisServer:
        announce = ("--replica-announce-ip", self.host, "--replica-announce-port", str(self.address(port)[1]))
        args = (*role, *announce, *extra)
        return RedisServer(port, host=self.host, binary=self.binary, extra_args=args, log_dir=self.log_dir)

    def address(self, port: int) -> tuple[str, int]:
        """Where clients reach a server or Sentinel on `port`: itself, or its delayed twin."""
        return self.host, self.relay.twin(port) if self.relay else port

    @property
    def url(self) -> str:
        """The nodes' REDIS_URL: every Sentinel, then the master's name."""
        sentinels = ",".join(f"{h}:{p}" for h, p in (self.address(port) for port in self.sentinel_ports))
        return f"{SENTINEL_SCHEME}{sentinels}/{MASTER_NAME}"

    def pids(self) -> dict[str, int]:
        named = {f"redis-primary:{self.primary.port}": self.primary.pid}
        named[f"redis-replica:{self.replica.port}"] = self.replica.pid
        named |= {f"redis-sentinel:{port}": p.pid for port, p in zip(self.sentinel_ports, self.sentinels, strict=False)}
        if self.relay is not None:
            named["delay-relay"] = self.relay.pid
        return {name: int(pid) for name, pid in named.items() if pid}

    def start(self, timeout: float = 30.0) -> SentinelSet:
        try:
            if self.relay is not None:
                self.relay.start()
            self.primary.start()
            self.replica.start()
            for port in self.sentinel_ports:
                self.sentinels.append(self._start_sentinel(port))
            self._wait_settled(timeout)
        except BaseException:
            self.cleanup()
            raise
        return self

    def _start_sentinel(self, port: int) -> ManagedProcess:
        conf = self.workdir / f"sentinel-{port}.conf"
        conf.write_text(sentinel_conf(port, self.host, self.address(self.primary.port), self.workdir))
        argv = [self.binary.path, str(conf), "--sentinel"]
        return ManagedProcess(f"sentinel :{port}", argv, log_path=self.log_dir / f"sentinel-{port}.log").start()

    def _wait_settled(self, timeout: float) -> None:
        """Until every Sentinel knows the replica and the two other Sentinels, a failover could not happen."""
        if not wait_until(self._settled, timeout, interval=0.2):
            raise StartupError(f"the Sentinels did not discover each other and the replica in {timeout:.0f}s")

    def _settled(self) -> bool:
        return all(self._sentinel_view(port) == (1, SENTINELS - 1) for port in self.sentinel_ports) and self._synced()

    def _sentinel_view(self, port: int) -> tuple[int, int] | None:
        """(replicas, other Sentinels) that the Sentinel on `port` knows of."""
        try:
            with redis.Redis(host=self.host, port=port, socket_timeout=1.0, decode_responses=True) as client:
                state = client.sentinel_master(MASTER_NAME)
        except redis.RedisError:
            return None
        return int(state.get("num-slaves", 0)), int(state.get("num-other-sentinels", 0))

    def _synced(self) -> bool:
        try:
            with redis.Redis(host=self.host, port=self.replica.port, socket_timeout=1.0) as client:
                return bool(client.info("replication").get("master_link_status") == "up")
        except redis.RedisError:
            return False

    def master_address(self) -> tuple[str, int] | None:
        """Where the Sentinels (the first that answers) say the primary is now, as clients see it."""
        for port in self.sentinel_ports:
            try:
                with redis.Redis(host=self.host, port=port, socket_timeout=1.0, decode_responses=True) as client:
                    found = client.sentinel_get_master_addr_by_name(MASTER_NAME)
            except redis.RedisError:
                continue
            if found:
                return str(found[0]), int(found[1])
        return None

    def current_primary(self) -> RedisServer:
        address = self.master_address()
        return self.replica if address == self.address(self.replica.port) else self.primary

    def kill_primary(self) -> RedisServer:
        """SIGKILL whichever server is the primary now, as a crash would; returns it."""
        server = self.current_primary()
        server.kill()
        return server

    def wait_promoted(self, old: RedisServer, timeout: float = 20.0) -> bool:
        """Wait until every Sentinel names a primary other than `old`."""
        return wait_until(lambda: self.master_address() not in (None, self.address(old.port)), timeout, 0.05)

    def cleanup(self) -> None:
        for process in self.sentinels:
            process.stop(grace=2.0)
        for server in (self.replica, self.primary):
            server.cleanup()
        if self.relay is not None:
            self.relay.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> SentinelSet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
