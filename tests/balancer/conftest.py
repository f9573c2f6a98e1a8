"""Balancer fixtures: real upstream servers and a real balancer on loopback ports, real HTTP clients."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
from aiohttp import web

from balancer.app import Balancer as BalancerApp
from balancer.metrics import status_document
from balancer.settings import BalancerSettings, parse_upstreams
from tests.balancer.support import FakeNode, HangUpServer


@dataclasses.dataclass
class Balancer:
    """An in-process balancer under test."""

    app: BalancerApp

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return self.app.port

    def status(self) -> dict[str, Any]:
        return status_document(self.app.router)

    def upstream(self, url: str) -> dict[str, Any]:
        return next(item for item in self.status()["upstreams"] if item["url"] == url)

    def set_upstreams(self, urls: Sequence[str]) -> None:
        self.app.registry.set_urls(parse_upstreams(",".join(urls)))


NodesFactory = Callable[..., Awaitable[list[FakeNode]]]
BalancerFactory = Callable[..., Awaitable[Balancer]]


@pytest.fixture
async def start_nodes(aiohttp_server) -> NodesFactory:  # type: ignore[no-untyped-def]
    """Start `count` FakeNodes (ids n0, n1, ...), each with the given extra routes."""

    async def start(count: int, routes: Sequence[web.RouteDef] = (), prefix: str = "n") -> list[FakeNode]:
        nodes = [FakeNode(f"{prefix}{index}", routes) for index in range(count)]
        for node in nodes:
            await node.start(aiohttp_server)
        return nodes

    return start


@pytest.fixture
async def start_balancer() -> AsyncIterator[BalancerFactory]:
    """Start a balancer in front of `upstreams` (FakeNodes or URLs) with settings overrides, on a free port."""
    started: list[BalancerApp] = []

    async def start(upstreams: Sequence[FakeNode | str], **overrides: Any) -> Balancer:
        urls = [item.url if isinstance(item, FakeNode) else item for item in upstreams]
        overrides.setdefault("health_interval", 0.1)
        overrides.setdefault("health_timeout", 0.5)
        settings = BalancerSettings(upstreams=parse_upstreams(",".join(urls)) if urls else (), **overrides)
        app = BalancerApp(settings)
        await app.start(port=0)
        started.append(app)
        return Balancer(app)

    yield start
    for app in started:
        await app.close()


@pytest.fixture
async def hang_up_server() -> AsyncIterator[HangUpServer]:
    server = await HangUpServer().start()
    yield server
    await server.close()
