"""The session stores, one module each, behind aiohttp-session's storage interface; chosen by SESSION_STORE."""

from __future__ import annotations

from collections.abc import Callable

from nodes.settings import NodeSettings
from nodes.stores.base import SessionConflict, SessionGone, SessionStore, SessionTooLarge, StoreUnavailable
from nodes.stores.cookie import CookieStore
from nodes.stores.memory import MemoryStore
from nodes.stores.redis import RedisStore, connect
from nodes.stores.replicated import ReplicatedStore
from nodes.transport import Transport


def _memory(settings: NodeSettings, transport: Transport) -> SessionStore:
    return MemoryStore(transport, settings.max_age, settings.memory_max, settings.consistency)


def _cookie(settings: NodeSettings, transport: Transport) -> SessionStore:
    return CookieStore(transport, settings.max_age, settings.secrets)


def _redis(settings: NodeSettings, transport: Transport) -> SessionStore:
    client = connect(settings.redis_url.reveal(), settings.redis_timeout, settings.redis_cluster)
    return RedisStore(transport, settings.max_age, client, settings.consistency)


def _replicated(settings: NodeSettings, transport: Transport) -> SessionStore:
    from nodes.replication.build import build_replicator

    return ReplicatedStore(transport, settings.max_age, build_replicator(settings), settings.consistency)


STORE_FACTORIES: dict[str, Callable[[NodeSettings, Transport], SessionStore]] = {
    "memory": _memory,
    "cookie": _cookie,
    "redis": _redis,
    "replicated": _replicated,
}


def build_store(settings: NodeSettings) -> SessionStore:
    transport = Transport(settings.cookie_name, settings.token_header, settings.cookie_secure)
    return STORE_FACTORIES[settings.store](settings, transport)


__all__ = [
    "SessionConflict",
    "SessionGone",
    "SessionStore",
    "SessionTooLarge",
    "StoreUnavailable",
    "build_store",
    "STORE_FACTORIES",
]
