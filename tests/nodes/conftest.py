"""Node fixtures: real node servers on loopback ports (in-process aiohttp servers), real HTTP clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from cryptography.fernet import Fernet

from nodes.app import create_app
from nodes.settings import NodeSettings

NodeFactory = Callable[..., Awaitable[str]]
ClientFactory = Callable[..., aiohttp.ClientSession]


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


@pytest.fixture
async def client() -> AsyncIterator[ClientFactory]:
    """Real HTTP clients; a browser keeps cookies (also for IP hosts), an app client keeps none."""
    sessions: list[aiohttp.ClientSession] = []

    def make(*, cookies: bool = True) -> aiohttp.ClientSession:
        jar: aiohttp.abc.AbstractCookieJar = aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
        session = aiohttp.ClientSession(cookie_jar=jar)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()
