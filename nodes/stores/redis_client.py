"""The Redis connection: short timeouts, one immediate retry, and Redis Cluster from the same URL setting."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

CLUSTER_SCHEME = "redis+cluster://"
MAX_CONNECTIONS = 256


def connect(url: str, timeout: float, cluster: bool = False) -> aioredis.Redis:
    """A pooled client with short timeouts; one immediate retry covers a connection broken by a Redis restart.

    A `redis+cluster://host:port` URL (or `cluster=True`) gives redis.asyncio's Redis Cluster client, which
    finds every shard from that one node and routes each key to the shard that owns its slot.
    """
    if url.startswith(CLUSTER_SCHEME) or cluster:
        return _connect_cluster("redis://" + url.removeprefix(CLUSTER_SCHEME).removeprefix("redis://"), timeout)
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), retries=1),
        retry_on_error=[RedisConnectionError],
        decode_responses=False,
        max_connections=MAX_CONNECTIONS,
    )


def _connect_cluster(url: str, timeout: float) -> aioredis.Redis:
    return RedisCluster.from_url(  # type: ignore[return-value]  # same command API as a single Redis
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), retries=1),
        decode_responses=False,
        max_connections=MAX_CONNECTIONS,
    )
