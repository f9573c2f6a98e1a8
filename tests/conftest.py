"""Fixtures shared by every test package: a private redis-server per test session, free ports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
import redis

from loadtest.lab.processes import free_port
from loadtest.lab.redis_server import RedisServer

# compiles the balancer's data path before any test imports it (tests/data_path_plugin.py)
pytest_plugins = ("tests.data_path_plugin",)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, started once per test run (never the machine's 6379)."""
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """URL of the session's redis-server, running and empty at the start of the test."""
    if not redis_server.running():
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    yield redis_server.url
    if not redis_server.running():  # a test killed it: bring it back for the next one
        redis_server.start()


@pytest.fixture
def port() -> int:
    return free_port()


ClientFactory = Callable[..., aiohttp.ClientSession]


@pytest.fixture
async def client() -> AsyncIterator[ClientFactory]:
    """Real HTTP clients: like a browser (keeps cookies, also for IP hosts) or like an app (keeps none)."""
    sessions: list[aiohttp.ClientSession] = []

    def make(*, cookies: bool = True, **kwargs: Any) -> aiohttp.ClientSession:
        jar: aiohttp.abc.AbstractCookieJar = aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
        session = aiohttp.ClientSession(cookie_jar=jar, **kwargs)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.close()
