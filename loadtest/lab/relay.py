"""The delay relay as a child process of the lab, and the round-trip time it actually adds, measured.

`DelayRelay` starts `loadtest.lab.delay` with one route per Redis address (servers and Sentinels) and maps each
real port to its delayed twin. `redis_rtt_ms` times PING round trips on one redis-py connection, as the nodes'
Redis client sees them; `added_rtt_ms` alternates direct and relayed pings and reports the median difference.
"""

from __future__ import annotations

import socket
import statistics
import sys
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from loadtest.lab.processes import ManagedProcess, free_ports


class DelayRelay:
    """One relay process: every target port gets a listening twin whose round trip is `delay_ms` longer."""

    def __init__(self, delay_ms: float, targets: list[int], *, host: str = "127.0.0.1", log_dir: Path) -> None:
        self.delay_ms = delay_ms
        self.host = host
        self.ports = dict(zip(targets, free_ports(len(targets), host), strict=True))  # real port -> delayed twin
        routes = [f"--route={host}:{twin}={host}:{real}" for real, twin in self.ports.items()]
        argv = [sys.executable, "-m", "loadtest.lab.delay", f"--delay-ms={delay_ms:g}", *routes]
        self.process = ManagedProcess("delay-relay", argv, log_path=log_dir / "delay-relay.log")

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def twin(self, port: int) -> int:
        return self.ports[port]

    def start(self, timeout: float = 15.0) -> DelayRelay:
        self.process.start()
        try:
            self.process.wait_ready(self._listening, timeout)
        except BaseException:
            self.process.stop()
            raise
        return self

    def _listening(self) -> bool:
        return all(_accepts(self.host, twin) for twin in self.ports.values())

    def stop(self) -> None:
        self.process.stop(grace=2.0)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _ping(client: redis.Redis) -> float:
    """One PING round trip, milliseconds."""
    began = time.perf_counter()
    if client.ping() is not True:
        raise redis.ConnectionError("unexpected PING reply")
    return (time.perf_counter() - began) * 1000


def redis_rtt_ms(host: str, port: int, samples: int = 50) -> float:
    """Median PING round trip to a Redis (or through a relay to it), milliseconds, on one kept connection.

    Raises redis.RedisError when it does not answer: one attempt per PING, no retry (a retried PING would be
    timed as one slow round trip)."""
    no_retry = Retry(NoBackoff(), retries=0)
    with redis.Redis(host=host, port=port, socket_connect_timeout=2.0, socket_timeout=2.0, retry=no_retry,
                     single_connection_client=True) as client:  # fmt: skip
        _ping(client)  # warm-up: connects; the relay opens its upstream connection on the first bytes' arrival
        return statistics.median(_ping(client) for _ in range(samples))


def added_rtt_ms(host: str, direct: int, relayed: int, rounds: int = 5, samples: int = 20) -> dict[str, float]:
    """The relay's added round trip: direct and relayed pings alternated, medians of each round, then their medians."""
    direct_ms, relayed_ms = [], []
    for _ in range(rounds):
        direct_ms.append(redis_rtt_ms(host, direct, samples))
        relayed_ms.append(redis_rtt_ms(host, relayed, samples))
    base, delayed = statistics.median(direct_ms), statistics.median(relayed_ms)
    return {"direct_ms": round(base, 3), "relayed_ms": round(delayed, 3), "added_ms": round(delayed - base, 3)}
