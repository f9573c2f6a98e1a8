"""The Redis connection: short timeouts, one immediate retry; Redis Cluster and Sentinel from the same URL setting."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from nodes.contract.sentinel_url import SentinelTarget, is_sentinel_url, parse_sentinel_url

CLUSTER_SCHEME = "redis+cluster://"
MAX_CONNECTIONS = 256


def connect(url: str, timeout: float, cluster: bool = False) -> aioredis.Redis:
    """A pooled client with short timeouts; one immediate retry covers a connection broken by a Redis restart.

    A `redis+cluster://host:port` URL (or `cluster=True`) gives redis.asyncio's Redis Cluster client, which
    finds every shard from that one node and routes each key to the shard that owns its slot.
    """
    if is_sentinel_url(url):
        return _connect_sentinel(parse_sentinel_url(url), timeout)
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


def _connect_sentinel(target: SentinelTarget, timeout: float) -> aioredis.Redis:
    """A client for whichever server the Sentinels name primary now.

    Each new connection asks the Sentinels where the primary is. A connection to a primary that was demoted
    gets READONLY, which redis.asyncio turns into a dropped connection and a ConnectionError: the one retry
    then reconnects to the new primary, so a node heals from a failover without a restart.
    """
    timeouts = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    sentinel = Sentinel(  # redis-py < 8.2 has no annotations here; 8.2 has
        list(target.sentinels), sentinel_kwargs=timeouts, socket_timeout=timeout, socket_connect_timeout=timeout
    )  # type: ignore[no-untyped-call,unused-ignore]
    client: aioredis.Redis = sentinel.master_for(
        target.master,
        password=target.password,
        db=target.db,
        retry=Retry(NoBackoff(), retries=1),
        retry_on_error=[RedisConnectionError],
        decode_responses=False,
        max_connections=MAX_CONNECTIONS,
    )
    return client
