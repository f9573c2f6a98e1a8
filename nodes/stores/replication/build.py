"""Wiring replication into a node: the parts built from the settings, and their place in the app."""

from __future__ import annotations

from aiohttp import web

from nodes.settings import NodeSettings
from nodes.stores.replication.client import PeerClient
from nodes.stores.replication.liveness import Liveness
from nodes.stores.replication.peers import Membership
from nodes.stores.replication.replicator import Replicator
from nodes.stores.replication.server import install
from nodes.stores.replication.table import ReplicaTable


def build_replicator(settings: NodeSettings) -> Replicator:
    table = ReplicaTable(settings.max_age, settings.memory_max)
    membership = Membership(settings.peers, settings.node_id, settings.host, settings.port)
    client = PeerClient(_secret(settings), settings.replication_timeout)
    return Replicator(settings.node_id, settings.replication, table, membership, client, settings.replication_mode)


def wire_into(app: web.Application, replicator: Replicator, settings: NodeSettings) -> None:
    """The peer endpoints, and heartbeats and the start-up pull for the app's lifetime."""
    liveness = Liveness(replicator, settings.heartbeat_interval, settings.startup_pull_timeout)
    install(app, replicator, liveness, _secret(settings))


def _secret(settings: NodeSettings) -> bytes:
    assert settings.peer_secret is not None, "SESSION_PEER_SECRET is checked at start-up"
    return settings.peer_secret.reveal().encode()
