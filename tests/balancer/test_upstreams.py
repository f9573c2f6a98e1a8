"""The upstream registry: a dynamic membership (for DNS discovery) whose nodes keep their state and counters."""

from __future__ import annotations

from balancer.upstreams import UpstreamRegistry


def test_membership_changes_keep_the_state_of_nodes_that_stay() -> None:
    registry = UpstreamRegistry(["http://a:1", "http://b:1"])
    a, b = registry.members
    a.served, b.served = 5, 7
    registry.mark_down(b, "test")
    registry.set_urls(["http://b:1", "http://c:1"])
    assert [u.url for u in registry.members] == ["http://b:1", "http://c:1"]
    assert registry.members[0] is b and (b.served, b.healthy) == (7, False)
    assert registry.members[1].healthy  # a new node joins healthy; checks and passive ejection correct it
    assert registry.get("http://a:1") is None
    assert [u.url for u in registry.view.available] == ["http://c:1"]


def test_the_pool_is_a_snapshot_rebuilt_only_on_change() -> None:
    registry = UpstreamRegistry(["http://a:1", "http://b:1"])
    pool = registry.view
    registry.mark_up(registry.members[0])  # already up: nothing changes
    assert registry.view is pool
    registry.mark_down(registry.members[0], "test")
    assert registry.view is not pool and len(pool.available) == 2  # the old snapshot is untouched
    assert registry.view.without(registry.members[1]).available == ()


def test_a_drain_keeps_a_node_serving_its_pinned_clients_but_not_available() -> None:
    registry = UpstreamRegistry(["http://a:1", "http://b:1"])
    a, b = registry.members
    registry.set_draining(b, True)
    assert (b.state, registry.view.available, registry.view.serving) == ("draining", (a,), (a, b))
    b.answered()
    assert (b.served, b.served_draining) == (1, 1)
    registry.mark_down(b, "test")
    assert b.state == "down" and registry.view.serving == (a,)
    registry.mark_up(b)
    assert b.state == "draining"  # health and drain are separate: it comes back still draining


def test_runtime_additions_join_down_and_survive_discovery() -> None:
    registry = UpstreamRegistry(["http://a:1"])
    added = registry.add("http://new:1")
    assert added.state == "down" and registry.view.available == registry.members[:1]
    registry.set_urls(["http://a:1", "http://c:1"])  # a DNS refresh
    assert [u.url for u in registry.members] == ["http://a:1", "http://c:1", "http://new:1"]
    assert registry.add("http://new:1") is added  # idempotent


def test_a_removed_discovered_node_stays_out_while_discovery_still_lists_it() -> None:
    registry = UpstreamRegistry(["http://a:1", "http://b:1"])
    registry.remove(registry.members[1])
    registry.set_urls(["http://a:1", "http://b:1"])
    assert [u.url for u in registry.members] == ["http://a:1"]
    registry.set_urls(["http://a:1"])  # the name stopped resolving to it: forgotten
    registry.set_urls(["http://a:1", "http://b:1"])  # a new replica at that address joins as usual
    assert [u.url for u in registry.members] == ["http://a:1", "http://b:1"]
