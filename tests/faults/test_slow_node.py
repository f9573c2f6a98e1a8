"""A node that stops answering (SIGSTOP: its socket still accepts, nothing replies) under load: the requests it holds
get a 504 after BALANCER_READ_TIMEOUT, the health check ejects it, and no request anywhere waits longer than the
configured timeouts. SIGCONT brings it back."""

from __future__ import annotations

import signal
import time
from collections import Counter

from loadtest.lab.processes import wait_until
from tests.faults.conftest import HEALTH_INTERVAL, ClusterFactory
from tests.faults.load import Load
from tests.support import log_tracebacks

USERS = 20
READ_TIMEOUT = 1.0
HEALTH_TIMEOUT = 0.5
CHECK_SLACK = READ_TIMEOUT / 4  # the balancer looks for expired reads every min(1 s, timeout / 4)
MARGIN = 1.0  # scheduling on a busy 2-core machine
RECOVERY = 2.0


def test_a_stopped_node_gives_504s_in_time_and_nobody_hangs(start_cluster: ClusterFactory) -> None:
    """A hung node must cost the requests it holds a bounded wait, and only until the health check ejects it."""
    env = {"BALANCER_READ_TIMEOUT": str(READ_TIMEOUT), "BALANCER_HEALTH_TIMEOUT": str(HEALTH_TIMEOUT)}
    cluster = start_cluster(store="cookie", routing="random", env=env)
    node = cluster.nodes[0]
    with Load(cluster.url, users=USERS) as load:
        load.wait_answers(300, since=0.0)
        node.process.signal(signal.SIGSTOP)
        stopped = time.monotonic()
        try:
            assert cluster.wait_ejected(node.name, timeout=5.0), "the health check never ejected the stopped node"
            noticed = time.monotonic()
            load.wait_answers(300, since=noticed + READ_TIMEOUT)
        finally:
            node.process.signal(signal.SIGCONT)
        resumed = time.monotonic()
        assert wait_until(cluster.all_healthy, 10.0), "the resumed node never rejoined"
        rejoined = time.monotonic()
        load.wait_answers(300, since=rejoined)
    calls = load.calls
    timeouts = [c for c in calls if c.status == 504]
    failed = [c for c in calls if c.failed]
    slowest = max(c.duration for c in calls)
    print(
        f"\nFAULT slow-node: requests={len(calls)} 504s={len(timeouts)} failed={len(failed)} "
        f"failed_pct={100 * len(failed) / len(calls):.3f} statuses={dict(Counter(c.status for c in failed))} "
        f"504_durations_s={sorted(round(c.duration, 3) for c in timeouts)} longest_s={slowest:.3f} "
        f"ejected_s_after_stop={noticed - stopped:.3f} stopped_s={resumed - stopped:.2f}"
    )
    assert timeouts, "no request was caught by the stopped node: the fault did not happen"
    for call in timeouts:
        assert call.body is not None and call.body["error"] == "upstream_timeout" and call.body["detail"]
        assert call.headers.get("X-Balancer-Error") == "upstream_timeout"
        assert READ_TIMEOUT <= call.duration <= READ_TIMEOUT + CHECK_SLACK + MARGIN
    assert {c.status for c in failed} == {504}, "a stopped node is a timeout, nothing else"
    assert slowest <= READ_TIMEOUT + CHECK_SLACK + MARGIN, "a request waited past the configured timeouts"
    assert noticed - stopped <= HEALTH_INTERVAL + HEALTH_TIMEOUT + MARGIN
    assert all(c.ended <= noticed + READ_TIMEOUT + CHECK_SLACK + RECOVERY for c in failed)
    assert not [c for c in calls if c.miss or c.foreign]
    assert any(c.node == node.name for c in calls if c.started > rejoined), "the resumed node never served again"
    assert not log_tracebacks(cluster.config.log_dir)
