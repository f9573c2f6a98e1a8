"""The replication parts on their own: ownership by rendezvous hash, the replica table's merge rules, peer lists."""

from __future__ import annotations

import time

import pytest

from nodes.stores.replication.peers import Membership, parse_peer, rank
from nodes.stores.replication.table import CONFLICT, GONE, STORED, Entry, ReplicaTable

IDS = [f"session-{index:05d}-abcdefghijk"[:22] for index in range(2000)]


def test_when_a_primary_leaves_its_backup_is_first_in_line_and_nothing_else_moves() -> None:
    members = ["node-1", "node-2", "node-3", "node-4"]
    for session_id in IDS:
        primary, backup, *_ = rank(session_id, members)
        survivors = [member for member in members if member != primary]
        assert rank(session_id, survivors)[0] == backup
        other = next(member for member in members if member not in (primary, backup))
        assert rank(session_id, [m for m in members if m != other])[:2] == [primary, backup]


def test_primaries_spread_evenly() -> None:
    members = ["node-1", "node-2", "node-3"]
    counts = {member: 0 for member in members}
    for session_id in IDS:
        counts[rank(session_id, members)[0]] += 1
    assert all(500 < count < 833 for count in counts.values()), counts


def entry(version: int, expires_in: float = 60) -> Entry:
    return Entry(b'%d:{"session":{}}' % version, version, time.time() + expires_in, "ann")


def test_a_copy_from_a_peer_wins_only_when_newer_and_a_tombstone_keeps_it_dead() -> None:
    table = ReplicaTable(idle_timeout=60, max_entries=10)
    assert table.apply("a" * 22, entry(3))
    assert not table.apply("a" * 22, entry(2))  # late or replayed: older than ours
    assert table.get("a" * 22).version == 3  # type: ignore[union-attr]
    table.delete("a" * 22)
    assert not table.apply("a" * 22, entry(9))  # a logged-out session never comes back
    assert not table.apply("b" * 22, entry(1, expires_in=-1))  # already expired by our clock


def test_compare_and_set_and_logout_all() -> None:
    table = ReplicaTable(idle_timeout=60, max_entries=10)
    table.write("a" * 22, b'1:{"session":{}}', "ann")
    assert table.compare_and_set("a" * 22, 1, b'2:{"session":{}}', None) == STORED
    assert table.compare_and_set("a" * 22, 1, b'2:{"session":{}}', None) == CONFLICT
    assert table.compare_and_set("z" * 22, 1, b'2:{"session":{}}', None) == GONE
    table.apply("b" * 22, entry(4))  # ann's session written elsewhere: indexed here too
    assert sorted(table.end_user("ann")) == ["a" * 22, "b" * 22]
    assert len(table) == 0


def test_the_table_is_bounded() -> None:
    table = ReplicaTable(idle_timeout=60, max_entries=3)
    for index in range(5):
        table.write(str(index) * 22, b'1:{"session":{}}', None)
    assert len(table) == 3 and "0" * 22 not in table


async def test_dns_peers_are_resolved_and_the_node_leaves_itself_out() -> None:
    membership = Membership(["dns://localhost:8082", "http://127.0.0.1:8081"], "node-1", "127.0.0.1", 8081)
    await membership.refresh()
    urls = {peer.url for peer in membership.peers()}
    assert "http://127.0.0.1:8082" in urls and "http://127.0.0.1:8081" not in urls
    peer = membership.peers()[0]
    assert membership.answered(peer, "node-1", True) is False  # it was us under another address
    assert peer not in membership.peers()


@pytest.mark.parametrize("spec", ["ftp://x:1", "dns://name", "http://x:1/path", "http://x:99999"])
def test_bad_peer_entries_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_peer(spec)
