"""The Redis store's lane: batches in order over one connection, errors in place, one retry, a bounded wait."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from loadtest.lab.processes import wait_until
from loadtest.lab.redis_server import RedisServer
from nodes.stores.redis_client import connect
from nodes.stores.redis_lane import RedisLane, lane_for


def lane(url: str, timeout: float = 0.5) -> RedisLane:
    found = lane_for(connect(url, timeout))
    assert found is not None
    return found


def test_only_a_plain_tcp_redis_gets_a_lane() -> None:
    assert lane_for(connect("redis://127.0.0.1:1/0", 0.5)) is not None
    assert lane_for(aioredis.Redis.from_url("unix:///tmp/nowhere.sock")) is None
    assert lane_for(aioredis.Redis.from_url("rediss://127.0.0.1:1/0")) is None
    assert lane_for(connect("redis+sentinel://127.0.0.1:1/mymaster", 0.5)) is None


async def test_batches_in_flight_are_answered_in_order_with_errors_in_place(redis_url: str) -> None:
    road = lane(redis_url)
    first = road.exchange([("SET", "lane:a", b"1"), ("GET", "lane:a")])
    second = road.exchange([("EVALSHA", "0" * 40, 0), ("INCR", "lane:a"), ("HGET", "lane:a", "x")])
    assert await first == [b"OK", b"1"]
    nosuch, incremented, wrongtype = await second
    assert isinstance(nosuch, NoScriptError) and incremented == 2
    assert isinstance(wrongtype, ResponseError)
    road.close()


async def test_the_database_and_password_of_the_url_are_used() -> None:
    with RedisServer() as server:
        with redis.Redis(port=server.port) as admin:
            admin.config_set("requirepass", "sesame")
        road = lane(f"redis://:sesame@127.0.0.1:{server.port}/3")
        assert await road.exchange([("SET", "lane:db", b"3")]) == [b"OK"]
        with redis.Redis(port=server.port, password="sesame", db=3) as admin:
            assert admin.get("lane:db") == b"3"
        road.close()


async def test_a_connection_the_server_closed_is_replaced_without_an_error(redis_url: str) -> None:
    road = lane(redis_url)
    assert await road.exchange([("PING",)]) == [b"PONG"]
    with redis.Redis.from_url(redis_url) as admin:
        assert admin.client_kill_filter(_type="normal", skipme=True) >= 1
    await asyncio.sleep(0)  # the close may or may not have arrived: either way the next batch is answered
    assert await road.exchange([("PING",)]) == [b"PONG"]
    road.close()


async def test_a_silent_redis_fails_the_batch_after_one_retry() -> None:
    """Each attempt waits the timeout (0.2 s), as redis.asyncio's socket timeout and one retry did."""
    with RedisServer() as server:
        road = lane(server.url, timeout=0.2)
        assert await road.exchange([("PING",)]) == [b"PONG"]
        with redis.Redis(port=server.port) as admin:
            admin.client_pause(1500)
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError):
                await road.exchange([("GET", "lane:silent")])
            assert 0.4 <= time.monotonic() - started < 0.4 + 0.5
            assert wait_until(lambda: admin.ping(), timeout=5)
        assert await road.exchange([("PING",)]) == [b"PONG"]
        road.close()
