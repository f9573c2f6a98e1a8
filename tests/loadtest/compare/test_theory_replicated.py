"""Theory for route routing and for the replicated store's modes: closed forms, checked against a simulation."""

from __future__ import annotations

import random

import pytest

from loadtest.compare.theory.expect import expect
from loadtest.compare.theory.model import Exposure
from loadtest.compare.theory.replicated import stale_probability
from loadtest.users.pacing import WAIT_MAX_S, WAIT_MIN_S, read_after_write_share, share_of_gaps_under


def exposure(nodes: int = 3, killed: bool = False, lag_ms: float = 0.0) -> Exposure:
    users, before = {"browser": 20, "app": 10}, {"browser": 2000, "app": 1000}
    after = {"browser": 2000, "app": 1000} if killed else {}
    return Exposure(nodes=nodes, users=users, before=before, after=after, killed=killed, lag_ms=lag_ms)


@pytest.mark.parametrize("routing", ["random", "round_robin", "sticky", "hash", "route"])
@pytest.mark.parametrize("replication", ["all-sync", "backup-sync"])
def test_sync_replication_never_misses_even_with_a_node_killed(routing: str, replication: str) -> None:
    result = expect(routing, "replicated", exposure(killed=True, lag_ms=400), replication)
    assert result.misses == 0 and result.exact_zero and result.tolerance(killed=True) == 0


@pytest.mark.parametrize("nodes", [2, 3, 5])
def test_route_with_memory_pins_browsers_and_apps_until_a_kill_then_one_miss_per_dead_node_user(nodes: int) -> None:
    steady = expect("route", "memory", exposure(nodes))
    assert steady.misses == 0 and steady.exact_zero
    killed = expect("route", "memory", exposure(nodes, killed=True))
    assert killed.misses == pytest.approx(30 / nodes)  # browser and app users alike, once each


def test_async_lag_below_the_shortest_gap_predicts_no_stale_read() -> None:
    assert share_of_gaps_under(WAIT_MIN_S) == 0 and share_of_gaps_under(WAIT_MAX_S) == 1
    assert expect("random", "replicated", exposure(lag_ms=5), "all-async").misses == 0


def test_async_stale_reads_follow_the_formula_and_only_for_spread_requests() -> None:
    lag_ms = 140.0
    p = read_after_write_share() * (2 / 3) ** 2 * (lag_ms / 1000 - WAIT_MIN_S) / (WAIT_MAX_S - WAIT_MIN_S)
    assert stale_probability("all", 3, lag_ms / 1000) == pytest.approx(p)
    assert expect("random", "replicated", exposure(lag_ms=lag_ms), "all-async").misses == pytest.approx(3000 * p)
    assert expect("sticky", "replicated", exposure(lag_ms=lag_ms), "all-async").misses == pytest.approx(1000 * p)
    for pinned in ("route", "hash"):
        assert expect(pinned, "replicated", exposure(lag_ms=lag_ms), "all-async").misses == 0


@pytest.mark.parametrize(("scope", "nodes"), [("all", 3), ("all", 5), ("backup", 3), ("backup", 5)])
def test_the_share_of_nodes_without_the_copy_matches_a_simulation(scope: str, nodes: int) -> None:
    """Writer and primary uniform and independent; the next request on a uniform node; stale where no copy is
    synchronous: all - every node but writer and primary; backup - the backup, unless it is the writer."""
    rng = random.Random(14)
    trials, stale = 40_000, 0
    for _ in range(trials):
        writer, order = rng.randrange(nodes), rng.sample(range(nodes), nodes)
        primary, backup, reader = order[0], order[1], rng.randrange(nodes)
        if scope == "all":
            stale += reader not in (writer, primary)
        else:
            stale += reader == backup and writer != backup
    expected = stale_probability(scope, nodes, WAIT_MAX_S) / read_after_write_share()
    assert stale / trials == pytest.approx(expected, abs=0.01)
