"""Upstream discovery by DNS: `dns://node:8081` stands for every address the name resolves to, re-resolved.

This is how the balancer finds the replicas of `docker compose up --scale node=N` (compose's DNS answers a
service name with one address per container) or of a Kubernetes headless service. Each refresh makes the
registry's membership exactly the static URLs plus the current answers: new replicas join, vanished ones
leave, the rest keep their health and counters. A failed lookup keeps the last good answer for that name,
so a resolver hiccup never empties the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from balancer.upstreams import UpstreamRegistry
from nodes.contract.names import DNS_SCHEME

log = logging.getLogger("balancer.discovery")

Resolve = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class DnsTarget:
    """One `dns://name:port` item of BALANCER_UPSTREAMS."""

    name: str
    port: int

    def __str__(self) -> str:
        return f"{DNS_SCHEME}{self.name}:{self.port}"


async def system_resolve(name: str, port: int) -> list[str]:
    """The name's addresses through the system resolver (hosts file, DNS), as node origins in a stable order."""
    infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
    addresses = sorted({str(info[4][0]) for info in infos}, key=lambda a: (":" in a, a))
    return [origin(address, port) for address in addresses]


def origin(address: str, port: int) -> str:
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"http://{host}:{port}"


class DnsDiscovery:
    """Keeps the registry's membership in line with the static URLs plus what the DNS names resolve to."""

    def __init__(
        self,
        registry: UpstreamRegistry,
        static: Sequence[str],
        targets: Sequence[DnsTarget],
        interval: float,
        resolve: Resolve = system_resolve,
    ) -> None:
        self._registry = registry
        self._static = list(static)
        self._targets = list(targets)
        self._interval = interval
        self._resolve = resolve
        self._answers: dict[DnsTarget, list[str]] = {}

    async def refresh(self) -> None:
        """Resolve every name once and apply the result."""
        for target in self._targets:
            try:
                answer = await self._resolve(target.name, target.port)
            except OSError as exc:
                log.warning("could not resolve %s (%s); keeping its last answer", target, exc)
                continue
            if answer != self._answers.get(target):
                log.info("%s resolves to %s", target, ", ".join(answer) or "nothing")
            self._answers[target] = answer
        resolved = [url for target in self._targets for url in self._answers.get(target, [])]
        self._registry.set_urls([*self._static, *resolved])

    async def run(self) -> None:
        """Refresh every `interval` seconds until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            with contextlib.suppress(Exception):  # one bad round must not end discovery for good
                await self.refresh()
