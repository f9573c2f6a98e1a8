"""What a cell's run does for the session's own life (issue 23): Redis' maxmemory set
before the load, and after it the nodes' session counters, Redis' memory and evictions, and how long a logged-out
session stays usable on each node.

Revocation here probes every node directly, not through the balancer: an app client (X-Session-Token) logs in
through the balancer, logs out through it, and then each node is asked GET /me with the old token until it refuses
it (401) or the bound passes. `revocation_ms` is the slowest node's first refusal; None when a node still served
it at the bound (a cookie until it expires, a memory session whose node the logout did not reach).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

import redis

from loadtest.compare.scenarios.store_full import DEFAULT_MB as STORE_FULL_MB
from loadtest.compare.spec import CellSpec
from loadtest.lab.cluster import LocalCluster
from loadtest.lab.probe import get_json, request
from loadtest.lab.session_probe import app_login
from nodes.contract.names import NODE_SESSION_STATS_PATH, REDIS, TOKEN_HEADER

POLL_INTERVAL = 0.01
SAMPLE = 200  # session keys (strings) whose MEMORY USAGE is averaged


def maxmemory_mb(spec: CellSpec) -> float | None:
    """The Redis maxmemory this cell runs with: the option, or store-full's default; None: unlimited."""
    if spec.session.redis_maxmemory_mb is not None:
        return spec.session.redis_maxmemory_mb
    return STORE_FULL_MB if spec.session.redis_eviction is not None else None


def plain_redis_url(cluster: LocalCluster) -> str | None:
    """The cell's Redis when it is one server this module can talk to (not Sentinel, not Redis Cluster)."""
    url = cluster.redis_url or ""
    return url if url.startswith("redis://") else None


def configure_redis(cluster: LocalCluster, spec: CellSpec) -> dict[str, Any]:
    """Set maxmemory and its policy on the cell's own Redis before the load (CONFIG SET: no restart)."""
    limit, url = maxmemory_mb(spec), plain_redis_url(cluster)
    if limit is None or url is None:
        return {}
    client = redis.Redis.from_url(url, socket_timeout=2.0)
    try:
        client.config_set("maxmemory", str(int(limit * 1024 * 1024)))
        client.config_set("maxmemory-policy", spec.session.redis_eviction or "noeviction")
        baseline = int(client.info("memory").get("used_memory", 0))
    finally:
        client.close()
    return {"redis_maxmemory_mb": limit, "redis_eviction": spec.session.redis_eviction or "noeviction",
            "redis_used_memory_before": baseline}  # fmt: skip


def redis_memory(cluster: LocalCluster) -> dict[str, Any]:
    """Redis' own view after the load: memory, keys, evictions, refused writes; memory per session measured."""
    url = plain_redis_url(cluster)
    if url is None:
        return {}
    client = redis.Redis.from_url(url, socket_timeout=2.0)
    try:
        memory, stats, keys = client.info("memory"), client.info("stats"), int(client.dbsize())
        keys_seen = islice(client.scan_iter(count=SAMPLE, _type="string"), SAMPLE)
        sampled = [int(client.memory_usage(key) or 0) for key in keys_seen]
    except redis.RedisError as error:
        return {"redis_memory_error": str(error)}
    finally:
        client.close()
    dataset = int(memory.get("used_memory_dataset", 0))
    return {
        "redis_used_memory": int(memory.get("used_memory", 0)),
        "redis_used_memory_dataset": dataset,
        "redis_keys": keys,
        "redis_evicted_keys": int(stats.get("evicted_keys", 0)),
        "redis_memory_per_key": round(dataset / keys) if keys else None,  # INFO memory's dataset / keys
        "redis_bytes_per_session": round(sum(sampled) / len(sampled)) if sampled else None,  # MEMORY USAGE, sampled
    }


def node_counters(urls: Iterable[str]) -> dict[str, Any]:
    """The nodes' session counters (GET /_node/session-stats), summed over the nodes that answered; {} when none
    has the endpoint."""
    summed: dict[str, float] = {}
    answered = 0
    for url in urls:
        document = get_json(url.rstrip("/") + NODE_SESSION_STATS_PATH, timeout=2.0)
        if not isinstance(document, Mapping):
            continue
        answered += 1
        for name, value in document.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                summed[name] = summed.get(name, 0) + value
    return {"node_counters": summed, "node_counters_from": answered} if answered else {}


def revocation_by_node(balancer_url: str, node_urls: Mapping[str, str], bound: float) -> dict[str, Any]:
    """Log in and out through the balancer, then ask each node directly until it refuses the old token."""
    login, token = app_login(balancer_url, f"revoke-{uuid.uuid4().hex[:10]}", 5.0)
    if login.status != 200 or not token:
        return {"revocation_ms": None, "revocation_probe": f"login answered {login.status}: nothing to revoke"}
    logout = request("POST", balancer_url + "/logout", headers={TOKEN_HEADER: token}, timeout=5.0)
    ended = time.monotonic()
    refused: dict[str, float | None] = dict.fromkeys(node_urls)
    first_probe: dict[str, bool] = {}
    while any(value is None for value in refused.values()) and time.monotonic() - ended < bound:
        for name, url in node_urls.items():
            if refused[name] is not None:
                continue
            answer = request("GET", url.rstrip("/") + "/me", headers={TOKEN_HEADER: token}, timeout=2.0)
            first_probe.setdefault(name, answer.status == 401)
            if answer.status == 401:
                refused[name] = round((time.monotonic() - ended) * 1000, 1)
        time.sleep(POLL_INTERVAL)
    times = [value for value in refused.values() if value is not None]
    slowest = max(times) if times and len(times) == len(refused) else None
    return {
        "revocation_ms": slowest,
        "revocation_ms_by_node": refused,
        "revoked_on_first_probe": all(first_probe.get(name, False) for name in node_urls),
        "revocation_bound_s": bound,
        "logout_status": logout.status,
    }


def after_load(cluster: LocalCluster, spec: CellSpec) -> dict[str, Any]:
    """Everything this module measures once the load ended (before logout-all's own measurement)."""
    live = {member.name: member.url for member in cluster.nodes if member.process.running()}
    found: dict[str, Any] = node_counters(live.values())
    if spec.store == REDIS or spec.session.redis_eviction is not None:
        found |= redis_memory(cluster)
    if spec.revocation_bound > 0:
        found |= revocation_by_node(cluster.url, live, spec.revocation_bound)
    return found
