"""The store interface: one registry line per store, abstract hooks enforced, stores independent of handlers."""

from __future__ import annotations

import ast
import pathlib

import pytest

import nodes.stores
from nodes.contract.names import NODE_STORES, STORES
from nodes.settings import NodeSettings
from nodes.stores import SESSION_STORES, SessionStore, build_store
from nodes.stores.server_side import ServerSideStore
from tests.nodes.calls import test_transport

STORES_DIR = pathlib.Path(nodes.stores.__file__).parent
# What a store may import from this project: the transport, the settings it is built from, the contract.
ALLOWED = ("nodes.stores", "nodes.transport", "nodes.settings", "nodes.contract")


@pytest.mark.parametrize("name", STORES)
def test_every_name_builds_a_store_of_that_name(name: str, redis_url: str) -> None:
    store = build_store(NodeSettings.from_env({"SESSION_STORE": name, "REDIS_URL": redis_url}))
    assert isinstance(store, SessionStore)
    assert store.name == name
    assert set(SESSION_STORES) == set(NODE_STORES)


def test_a_store_missing_a_hook_cannot_be_made() -> None:
    class HalfDone(ServerSideStore):  # read, write, delete, ... not written yet
        name = "half-done"
        revocation_scope = "none"

    with pytest.raises(TypeError, match="abstract"):
        HalfDone(test_transport(), 60)  # type: ignore[abstract]


def test_stores_import_nothing_from_the_handler_layer() -> None:
    offenders = []
    for source in sorted(STORES_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if module and module.split(".")[0] == "nodes" and not module.startswith(ALLOWED):
                offenders.append(f"{source.name}: from {module}")
    assert offenders == []
