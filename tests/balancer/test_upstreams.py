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
    assert [u.url for u in registry.view.healthy] == ["http://c:1"]


def test_the_pool_is_a_snapshot_rebuilt_only_on_change() -> None:
    registry = UpstreamRegistry(["http://a:1", "http://b:1"])
    pool = registry.view
    registry.mark_up(registry.members[0])  # already up: nothing changes
    assert registry.view is pool
    registry.mark_down(registry.members[0], "test")
    assert registry.view is not pool and len(pool.healthy) == 2  # the old snapshot is untouched
    assert registry.view.without(registry.members[1]).healthy == ()
