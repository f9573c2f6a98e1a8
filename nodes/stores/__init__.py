"""The session stores, one module each, behind one interface (`SessionStore`); chosen by SESSION_STORE.

Adding a store: write its module (a `SessionStore` or `ServerSideStore` subclass with `from_settings`), add
its name to `nodes.contract.names` (a constant, listed in STORES) and its class to `SESSION_STORES` below.
"""

from __future__ import annotations

from collections.abc import Callable

from nodes.contract.registry import Registry
from nodes.settings import NodeSettings
from nodes.stores.base import SessionStore
from nodes.stores.cookie import CookieStore
from nodes.stores.life import SessionLife
from nodes.stores.memory import MemoryStore
from nodes.stores.redis import RedisStore
from nodes.stores.replicated import ReplicatedStore
from nodes.transport import Transport

StoreFactory = Callable[[NodeSettings, Transport], SessionStore]

# Every store SESSION_STORE can select, by the store's `name`; adding one: its module, then one entry here.
SESSION_STORES: Registry[type[SessionStore]] = Registry.of_named(
    "session store", (MemoryStore, CookieStore, RedisStore, ReplicatedStore)
)


def build_store(settings: NodeSettings) -> SessionStore:
    route = settings.node_id if settings.route_tag else None
    transport = Transport(settings.cookie_name, settings.token_header, settings.cookie_secure, route)
    store = SESSION_STORES[settings.store].from_settings(settings, transport)
    store.life = SessionLife.from_settings(settings)
    return store


__all__ = ["SESSION_STORES", "SessionStore", "StoreFactory", "build_store"]
