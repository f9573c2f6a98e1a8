"""Fixtures shared by every test package: a private redis-server per test session, free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from loadtest.lab.processes import free_port
from loadtest.lab.redis_server import RedisServer


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
