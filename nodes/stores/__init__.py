"""The session stores, one module each, behind one interface (`SessionStore`); chosen by SESSION_STORE.

Adding a store: write its module (a `SessionStore` or `ServerSideStore` subclass with `from_settings`), add
its name to `nodes.contract.names` (a constant, listed in STORES) and one line below, keyed by that constant.
"""

from __future__ import annotations

from collections.abc import Callable

from nodes.contract.names import COOKIE, MEMORY, REDIS, REPLICATED_STORE
from nodes.settings import NodeSettings
from nodes.stores.base import SessionStore
from nodes.stores.cookie import CookieStore
from nodes.stores.memory import MemoryStore
from nodes.stores.redis import RedisStore
from nodes.stores.replicated import ReplicatedStore
from nodes.transport import Transport

StoreFactory = Callable[[NodeSettings, Transport], SessionStore]

STORE_FACTORIES: dict[str, StoreFactory] = {
    MEMORY: MemoryStore.from_settings,
    COOKIE: CookieStore.from_settings,
    REDIS: RedisStore.from_settings,
    REPLICATED_STORE: ReplicatedStore.from_settings,
}


def build_store(settings: NodeSettings) -> SessionStore:
    route = settings.node_id if settings.route_tag else None
    transport = Transport(settings.cookie_name, settings.token_header, settings.cookie_secure, route)
    return STORE_FACTORIES[settings.store](settings, transport)


__all__ = ["STORE_FACTORIES", "SessionStore", "StoreFactory", "build_store"]
