"""Fixtures shared by every test package: a private redis-server per test session, free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from loadtest.lab.processes import free_port
from loadtest.lab.redis_server import RedisServer

# Real `sessionlab compare` and bench runs, judged by theory or loading the machine on purpose: they run one after
# the other on one test worker (pytest-xdist `--dist loadgroup`), never beside each other, so one run's load
# never becomes another's disagreement. Every other test file is a group of its own (what `loadfile` would do).
REAL_RUNS = frozenset({
    "tests/loadtest/bench/test_bench.py",
    "tests/loadtest/compare/scenarios/test_membership.py",
    "tests/loadtest/compare/scenarios/test_store_scenarios.py",
    "tests/loadtest/compare/test_capacity_real.py",
    "tests/loadtest/compare/test_compare_real.py",
    "tests/loadtest/compare/test_crosscheck.py",
    "tests/loadtest/compare/test_openloop_real.py",
})  # fmt: skip


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group("real-runs" if path in REAL_RUNS else path))


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
