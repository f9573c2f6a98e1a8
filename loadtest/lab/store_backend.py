"""The shared store as a real dependency: one Redis with or without persistence, or a Sentinel-watched primary
and replica, optionally a network hop away (the delay relay). `LocalCluster` starts one when its config asks.

`url` is what the nodes get as REDIS_URL; with a delay it names the relay's twins, so every node-to-Redis round
trip (Sentinels included) pays the added RTT. `added_rtt()` measures that RTT while the cluster runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from loadtest.lab.delay import delay_method
from loadtest.lab.redis_server import RedisServer
from loadtest.lab.relay import DelayRelay, added_rtt_ms
from loadtest.lab.sentinel import SentinelSet

PERSISTENCE: dict[str, tuple[str, ...]] = {
    "none": (),
    "aof": ("--appendonly", "yes", "--appendfsync", "everysec"),
}


class StoreBackend:
    """Redis for a cluster: a single server (`server`) or a Sentinel set (`sentinels`), maybe behind a relay."""

    def __init__(
        self, *, host: str, log_dir: Path, persistence: str = "none", sentinel: bool = False, delay_ms: float = 0.0
    ) -> None:
        self.host = host
        self.delay_ms = delay_ms
        self.persistence = persistence
        args = PERSISTENCE[persistence]
        self.sentinels = (
            SentinelSet(host=host, delay_ms=delay_ms, log_dir=log_dir, server_args=args) if sentinel else None
        )
        self.server = None if sentinel else RedisServer(host=host, extra_args=args, log_dir=log_dir)
        self.relay: DelayRelay | None = None
        if self.server is not None and delay_ms > 0:
            self.relay = DelayRelay(delay_ms, [self.server.port], host=host, log_dir=log_dir)

    @property
    def url(self) -> str:
        if self.sentinels is not None:
            return self.sentinels.url
        assert self.server is not None
        port = self.relay.twin(self.server.port) if self.relay else self.server.port
        return f"redis://{self.host}:{port}/0"

    def start(self, on_pid: Callable[[str, int], None]) -> StoreBackend:
        try:
            if self.sentinels is not None:
                self.sentinels.start()
                pids = self.sentinels.pids()
            else:
                assert self.server is not None
                self.server.start()
                pids = {f"redis-server:{self.server.port}": int(self.server.pid or 0)}
                if self.relay is not None:
                    self.relay.start()
                    pids["delay-relay"] = int(self.relay.pid or 0)
        except BaseException:
            self.cleanup()
            raise
        for name, pid in pids.items():
            on_pid(name, pid)
        return self

    def added_rtt(self) -> dict[str, Any]:
        """The round trip the nodes see to the primary, direct and through the relay (ms), and how it is made."""
        method = {"store_delay_method": delay_method(self.delay_ms), "store_delay_requested_ms": self.delay_ms}
        primary = self.sentinels.current_primary() if self.sentinels is not None else self.server
        if primary is None or self.delay_ms <= 0:
            return {**method, "store_rtt_ms": None}
        relayed = self.sentinels.address(primary.port)[1] if self.sentinels is not None else self.url_port()
        try:
            measured = added_rtt_ms(self.host, primary.port, relayed, rounds=3, samples=20)
        except (OSError, redis.RedisError):
            return {**method, "store_rtt_ms": None}
        return {**method, "store_rtt_ms": measured["added_ms"], "store_rtt_detail": measured}

    def url_port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    def cleanup(self) -> None:
        if self.sentinels is not None:
            self.sentinels.cleanup()
        if self.server is not None:
            self.server.cleanup()
        if self.relay is not None:
            self.relay.stop()
