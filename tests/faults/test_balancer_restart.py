"""The balancer restarted under load (SIGTERM, then started again with the same BALANCER_ROUTE_SECRET): the SL_ROUTE
cookie is an HMAC that any balancer with the secret verifies, so every browser stays on its node and, with the
memory store, keeps its session."""

from __future__ import annotations

import secrets
import time
from collections import Counter

from loadtest.lab.processes import wait_until
from tests.faults.conftest import ClusterFactory
from tests.faults.load import Load
from tests.support import log_tracebacks

USERS = 20
SHUTDOWN_TIMEOUT = 2.0  # FAULT_ENV's BALANCER_SHUTDOWN_TIMEOUT
MARGIN = 1.0
RECOVERY = 2.0


def test_sticky_affinity_and_memory_sessions_survive_a_balancer_restart(start_cluster: ClusterFactory) -> None:
    """The pin lives in the client's cookie, not in the balancer: a restart with the same secret keeps every pin."""
    env = {"BALANCER_ROUTE_SECRET": secrets.token_urlsafe(24)}
    cluster = start_cluster(store="memory", routing="sticky", env=env)
    balancer = cluster.balancer
    assert balancer is not None
    with Load(cluster.url, users=USERS) as load:
        load.wait_answers(300, since=0.0)
        stopping = time.monotonic()
        balancer.process.stop(grace=SHUTDOWN_TIMEOUT + 5.0)
        stopped = time.monotonic()
        assert balancer.process.returncode() == 0, "SIGTERM must stop the balancer cleanly"
        balancer.process.start()
        assert wait_until(cluster.all_healthy, 20.0), "the restarted balancer never saw its nodes"
        ready = time.monotonic()
        load.wait_answers(600, since=ready)
    calls = load.calls
    home = {user: nodes[0] for user, nodes in load.logins.items()}
    unanswered = [c for c in calls if c.status is None]
    after = [c for c in calls if c.started >= ready]
    first_ok = min(c.ended for c in after if c.status == 200)
    print(
        f"\nFAULT balancer-restart: requests={len(calls)} misses={sum(c.miss for c in calls)} "
        f"failed={sum(c.failed for c in calls)} unanswered_in_gap={len(unanswered)} "
        f"errors={dict(Counter(c.error for c in unanswered))} stop_s={stopped - stopping:.2f} "
        f"gap_s={ready - stopping:.2f} first_ok_s_after_ready={max(0.0, first_ok - ready):.3f} "
        f"longest_s={max(c.duration for c in calls):.3f} "
        f"new_route_cookies_after={sum('SL_ROUTE' in c.headers.get('Set-Cookie', '') for c in after)}"
    )
    assert not [c for c in calls if c.miss], "a user lost its session or was moved to another node"
    assert all(len(logins) == 1 for logins in load.logins.values()), "nobody had to log in again"
    for user, node in home.items():
        assert {c.node for c in calls if c.user == user and c.node} == {node}, f"user {user} changed node"
    assert not [c for c in calls if c.status is not None and c.status >= 500]
    # Only the gap between the old balancer's exit and the new one's start may go unanswered (connection refused,
    # or a kept-alive connection the old balancer closed).
    assert all(stopping <= c.ended <= ready + MARGIN for c in unanswered), unanswered
    assert not [c for c in after if "SL_ROUTE" in c.headers.get("Set-Cookie", "")], "a client was re-pinned"
    assert any(c.status == 200 for c in after) and first_ok <= ready + RECOVERY
    assert not [c for c in calls if c.foreign]
    assert max(c.duration for c in calls) <= SHUTDOWN_TIMEOUT + MARGIN
    assert not log_tracebacks(cluster.config.log_dir)
