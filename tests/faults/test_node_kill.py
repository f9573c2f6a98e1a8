"""A node SIGKILLed and restarted under load: shared stores lose nothing; memory + sticky loses only the dead node's
users, once each."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from loadtest.lab.cluster import LocalCluster
from loadtest.lab.processes import wait_until
from tests.faults.conftest import ClusterFactory
from tests.faults.load import Call, Load
from tests.support import log_tracebacks

USERS = 20
READ_TIMEOUT = 2.0  # FAULT_ENV's BALANCER_READ_TIMEOUT
SLOWEST = READ_TIMEOUT + 1.0  # no request may take longer: nothing here should even reach the read timeout
RECOVERY = 2.0  # normal service at most this long after the health check noticed the crash
MAX_FAILED = 0.005  # of all requests in the run


def kill_and_restart(cluster: LocalCluster, load: Load, answers: int) -> dict[str, float]:
    """Kill node-1 mid-load, wait for the balancer to eject it, restart it, wait for it to rejoin; `answers` is
    about how many requests the run makes (a failure rate needs a run of some size to mean anything)."""
    load.wait_answers(answers // 4, since=0.0)
    killed = time.monotonic()
    node_id = cluster.kill_node(0)
    assert cluster.wait_ejected(node_id, timeout=5.0), "the balancer never noticed the crash"
    noticed = time.monotonic()
    load.wait_answers(answers // 2, since=noticed)
    cluster.nodes[0].process.start()
    assert wait_until(cluster.all_healthy, 20.0), "the restarted node never rejoined"
    rejoined = time.monotonic()
    load.wait_answers(answers // 4, since=rejoined)
    return {"killed": killed, "noticed": noticed, "rejoined": rejoined}


def assert_failures_were_in_flight(calls: list[Call], marks: dict[str, float]) -> None:
    """A crash can only fail the requests it caught in flight (POSTs are not replayed): at most one per user."""
    failed = [c for c in calls if c.failed]
    assert all(marks["killed"] - SLOWEST <= c.started <= marks["noticed"] for c in failed), failed
    assert all(count == 1 for count in Counter(c.user for c in failed).values()), failed


def report(scenario: str, calls: list[Call], marks: dict[str, float], **extra: object) -> None:
    """One line of figures per scenario (shown with -rP / -s)."""
    failed = [c for c in calls if c.failed]
    last_bad = max((c.ended for c in calls if c.failed or c.miss), default=marks["noticed"])
    figures = {
        "requests": len(calls),
        "failed": len(failed),
        "failed_pct": round(100 * len(failed) / len(calls), 3),
        "misses": sum(c.miss for c in calls),
        "recovered_s_after_notice": round(max(0.0, last_bad - marks["noticed"]), 3),
        "notice_s_after_kill": round(marks["noticed"] - marks["killed"], 3),
        "last_bad_s_after_kill": round(max(0.0, last_bad - marks["killed"]), 3),
        "longest_s": round(max(c.duration for c in calls), 3),
        "failures": dict(
            Counter(
                f"{c.method} {c.path} {c.status or c.error} {c.headers.get('X-Balancer-Error', '')}" for c in failed
            )
        ),
        **extra,
    }
    print(f"\nFAULT {scenario}: {figures}")


@pytest.mark.parametrize("store", ["redis", "cookie"])
def test_a_killed_node_costs_no_session_with_a_shared_store(start_cluster: ClusterFactory, store: str) -> None:
    """Redis and cookie sessions live outside the node: its crash costs only the requests it was holding."""
    cluster = start_cluster(store=store, routing="random")
    with Load(cluster.url, users=USERS) as load:
        marks = kill_and_restart(cluster, load, answers=2200)
    calls = load.calls
    report(f"node-kill {store}+random", calls, marks)
    failed = [c for c in calls if c.failed]
    assert not [c for c in calls if c.miss], "a shared store must never lose a session to a node crash"
    assert not [c for c in calls if c.foreign], "a user saw another user's session"
    assert_failures_were_in_flight(calls, marks)
    assert len(failed) / len(calls) < MAX_FAILED, Counter((c.status, c.error) for c in failed)
    assert all(c.ended <= marks["noticed"] + RECOVERY for c in failed), "service did not recover in time"
    assert max(c.duration for c in calls) <= SLOWEST
    assert any(c.node == "node-1" for c in calls if c.started > marks["rejoined"]), "node-1 never served again"
    assert not log_tracebacks(cluster.config.log_dir)


def test_memory_sticky_kill_misses_each_dead_node_user_once(start_cluster: ClusterFactory) -> None:
    """Sticky routing pins browsers to their node; the crash loses exactly the sessions that lived in it."""
    cluster = start_cluster(store="memory", routing="sticky")
    with Load(cluster.url, users=USERS) as load:
        marks = kill_and_restart(cluster, load, answers=1000)
    calls = load.calls
    home = {user: nodes[0] for user, nodes in load.logins.items()}
    dead_users = {user for user, node in home.items() if node == "node-1"}
    misses = Counter(c.user for c in calls if c.miss)
    report("node-kill memory+sticky", calls, marks, dead_node_users=len(dead_users), users_missed=len(misses))
    assert dead_users, "round-robin placement put nobody on node-1"
    assert set(misses) == dead_users, "misses must hit exactly the dead node's users"
    assert set(misses.values()) == {1}, f"each dead node's user misses once, then stays: {misses}"
    for user in dead_users:
        assert len(load.logins[user]) == 2 and load.logins[user][1] != "node-1"  # one re-login, on a live node
        new_home = load.logins[user][1]
        relogged = min(c.ended for c in calls if c.user == user and c.miss)
        assert {c.node for c in calls if c.user == user and c.started > relogged and c.node} == {new_home}
    for user in set(home) - dead_users:
        assert {c.node for c in calls if c.user == user and c.node} == {home[user]}, "a survivor was moved"
    assert not [c for c in calls if c.foreign], "a user saw another user's session"
    assert_failures_were_in_flight(calls, marks)
    assert {c.user for c in calls if c.failed} <= dead_users, "only requests in flight on the dead node may fail"
    assert all(c.ended <= marks["noticed"] + RECOVERY for c in calls if c.failed or c.miss)
    assert max(c.duration for c in calls) <= SLOWEST
    assert not log_tracebacks(cluster.config.log_dir)
