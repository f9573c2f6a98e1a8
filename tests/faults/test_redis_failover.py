"""A Sentinel failover under load, through real node processes that find the primary with a redis+sentinel URL.

The primary is SIGKILLed; until Sentinel promotes the replica the nodes answer 503 with Retry-After (never a 500,
never a hang), then they serve again by themselves, without a restart. With SESSION_REDIS_WAIT=1 every write a
user saw acknowledged had reached the replica, so no user loses a session or a counter increment.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from loadtest.lab.sentinel import SentinelSet
from tests.faults.conftest import ClusterFactory
from tests.faults.load import Load
from tests.support import log_tracebacks

USERS = 12
HEAL_BOUND = 5.0  # seconds after Sentinel names the new primary by which writes succeed again (generous)
SLOWEST = 3.0  # BALANCER_READ_TIMEOUT + margin: a refused connection fails fast, REDIS_TIMEOUT is 0.5 s
WRITES = {"/counter", "/cart/items"}


@pytest.fixture
def sentinels(tmp_path) -> Iterator[SentinelSet]:  # type: ignore[no-untyped-def]
    with SentinelSet(log_dir=tmp_path / "redis") as started:
        yield started


def run_failover(cluster_url: str, sentinels: SentinelSet) -> tuple[Load, float, float]:
    """Load, kill the primary, wait for the promotion and for healed writes; returns (load, kill, promoted)."""
    with Load(cluster_url, users=USERS) as load:
        load.wait_answers(200, since=0.0)
        old = sentinels.kill_primary()
        killed = time.monotonic()
        load.wait_until(lambda: any(c.status == 503 for c in list(load.calls)), 10.0, "503s during the switch")
        assert sentinels.wait_promoted(old, timeout=20.0), "Sentinel did not promote the replica"
        promoted = time.monotonic()

        def healed() -> bool:
            ok = [c for c in list(load.calls) if c.started > promoted and c.path in WRITES and c.status == 200]
            return len({c.user for c in ok}) == USERS

        load.wait_until(healed, HEAL_BOUND, "every user's writes succeed again after the promotion")
        load.wait_answers(100, since=time.monotonic())
    return load, killed, promoted


def check_switch(load: Load, killed: float) -> None:
    calls = load.calls
    unavailable = [c for c in calls if c.status == 503]
    print(
        f"\nFAULT sentinel-failover: requests={len(calls)} statuses={dict(Counter(c.status for c in calls))} "
        f"outage_s={max(c.ended for c in unavailable) - killed:.2f} relogins="
        f"{sum(len(v) - 1 for v in load.logins.values())} went_back={sum(c.went_back for c in calls)}"
    )
    assert not [c for c in calls if c.status is not None and c.status >= 500 and c.status != 503]
    assert not [c for c in calls if c.status is None], "every request got an answer"
    for call in unavailable:
        assert call.body == {"error": "session store unavailable"} and call.headers.get("Retry-After") == "1"
    assert max(c.duration for c in calls) <= SLOWEST
    assert not [c for c in calls if c.foreign], "a user saw another user's session"


def test_a_sentinel_failover_gives_503s_then_heals_without_a_node_restart(
    start_cluster: ClusterFactory, sentinels: SentinelSet
) -> None:
    cluster = start_cluster(store="redis", routing="random", nodes=2, redis_url=sentinels.url)
    pids = [m.process.pid for m in cluster.nodes]
    load, killed, _ = run_failover(cluster.url, sentinels)
    check_switch(load, killed)
    assert [m.process.pid for m in cluster.nodes] == pids and not cluster.dead_members(), "no node was restarted"
    assert not log_tracebacks(cluster.config.log_dir)


def test_with_wait_no_acknowledged_session_or_write_is_lost_in_a_failover(
    start_cluster: ClusterFactory, sentinels: SentinelSet
) -> None:
    env = {"SESSION_REDIS_WAIT": "1", "REDIS_TIMEOUT": "1", "SESSION_REDIS_WAIT_TIMEOUT": "0.5"}
    cluster = start_cluster(store="redis", routing="random", nodes=2, redis_url=sentinels.url, env=env)
    load, killed, _ = run_failover(cluster.url, sentinels)
    check_switch(load, killed)
    assert all(len(logins) == 1 for logins in load.logins.values()), "a session acknowledged before the kill was lost"
    assert not [c for c in load.calls if c.went_back], "an acknowledged increment was lost"
