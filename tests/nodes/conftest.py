"""Node fixtures: real node servers on loopback ports (in-process aiohttp servers), real HTTP clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestServer
from cryptography.fernet import Fernet

from nodes.app import create_app
from nodes.settings import NodeSettings

NodeFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def secret() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
async def start_node(aiohttp_server, secret: str) -> NodeFactory:  # type: ignore[no-untyped-def]
    """Start a node with `store` and extra env settings; returns its base URL."""
    count = 0

    async def start(store: str, **env: str) -> str:
        nonlocal count
        count += 1
        environ = {"NODE_ID": f"node-{count}", "SESSION_STORE": store, "SESSION_SECRET": secret, **env}
        server: TestServer = await aiohttp_server(create_app(NodeSettings.from_env(environ)))
        return str(server.make_url("")).rstrip("/")

    return start
