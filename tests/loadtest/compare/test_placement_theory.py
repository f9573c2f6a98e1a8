"""The placement replay against cases worked out by hand: coin flips, a lone user, cycles of a counter, a kill."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from loadtest.compare.spec import CellSpec, Kill
from loadtest.compare.theory.model import FLOOR, SIGMAS, Exposure
from loadtest.compare.theory.placement import expect_placement, modelled, out_of_reach
from loadtest.compare.theory.placement_sim import Disruption, LatencySampler, LoadModel, Tally, replay, spawn_order
from loadtest.users import tally as T

FAST = ((0.5, 1),)  # every answer in 0.5 ms: far below any gap between two users' turns
TYPICAL = ((1.5, 30), (2.0, 50), (2.5, 30), (3.5, 10), (6.0, 3))


def stats(latency_ms: dict[str, int], seconds: int = 10) -> dict[str, Any]:
    """A locustfile stats document holding only response times, the same each second."""
    per_second = {
        str(1000 + second): {f"{T.LATENCY}:{ms}": n for ms, n in latency_ms.items()} for second in range(seconds)
    }
    return {"test_start": 1000.0, "per_second": per_second}


def totals(tally: Tally, kind: str) -> tuple[int, int]:
    requests = sum(n for (k, _), n in tally.requests.items() if k == kind)
    return requests, sum(n for (k, _), n in tally.misses.items() if k == kind)


def within_binomial(requests: int, misses: int, p: float) -> bool:
    return abs(misses - requests * p) <= 4 * math.sqrt(requests * p * (1 - p))


@pytest.mark.parametrize("nodes", [2, 3, 4])
def test_random_routing_misses_n_minus_one_in_n_for_every_kind(nodes: int) -> None:
    load = LoadModel(spawn_order({"browser": 20, "app": 10}), 10.0, TYPICAL)
    tally = replay("random", nodes, load, None, seed=nodes)
    for kind in ("browser", "app"):
        requests, misses = totals(tally, kind)
        assert requests > 300 and within_binomial(requests, misses, (nodes - 1) / nodes)


def test_closed_loop_sticky_pins_browsers_and_spreads_app_users_like_coins() -> None:
    """Random think times shuffle the app users' turns, so the counter's slots are as good as independent draws."""
    load = LoadModel(spawn_order({"browser": 20, "app": 10}), 10.0, TYPICAL)
    tally = replay("sticky", 3, load, None, seed=7)
    assert totals(tally, "browser")[1] == 0
    assert within_binomial(*totals(tally, "app"), 2 / 3)


@pytest.mark.parametrize("routing", ["round_robin", "sticky"])
@pytest.mark.parametrize("rate", [0.0, 5.0])
def test_a_lone_app_user_on_a_counter_misses_every_request(routing: str, rate: float) -> None:
    """Login at slot k, request at k+1 (another node), re-login at k+2, request at k+3 ...: never the login's node."""
    tally = replay(routing, 3, LoadModel(("app",), 10.0, FAST, arrival_rate=rate), None, seed=1)
    requests, misses = totals(tally, "app")
    assert requests > 20 and misses == requests


@pytest.mark.parametrize("seed", range(6))
def test_open_loop_round_robin_settles_where_a_period_steps_the_counter_by_a_multiple_of_n(seed: int) -> None:
    """A app users in a fixed order each period; a miss adds its re-login's slot. A user hits next period iff the
    counter moves by a multiple of N between its turns: A + m' = 0 (mod N), m' the others' misses in between. So a
    steady cycle with m misses per period has A + m = 0 (mod N), or every request misses (m = A)."""
    apps, nodes, periods = 13, 3, 20
    load = LoadModel(("app",) * apps, 2.0 * periods, FAST, arrival_rate=float(apps))  # one turn per user per second
    early = replay("round_robin", nodes, LoadModel(load.kinds, float(periods), FAST, load.arrival_rate), None, seed)
    late = replay("round_robin", nodes, load, None, seed)  # the same seed: the same first `periods` seconds
    requests = totals(late, "app")[0] - totals(early, "app")[0]
    misses = totals(late, "app")[1] - totals(early, "app")[1]
    assert requests == apps * periods
    per_period = misses / periods
    assert per_period == int(per_period)
    assert (apps + int(per_period)) % nodes == 0 or per_period == apps


def test_a_kill_costs_each_browser_pinned_to_the_dead_node_exactly_one_miss() -> None:
    """30 browsers log in by round robin, so node-1 holds every third: 10 misses after the kill, none before."""
    load = LoadModel(("browser",) * 30, 10.0, TYPICAL)
    tally = replay("sticky", 3, load, Disruption(victim=0, at=5.0), seed=3)
    assert tally.misses.get(("browser", False), 0) == 0
    assert tally.misses.get(("browser", True), 0) == 10


def test_the_expectation_is_the_replications_mean_with_three_sigma_of_their_spread() -> None:
    spec = CellSpec("random", "memory", "steady", 3, 30, 10.0)
    exposure = Exposure(3, {"browser": 20, "app": 10}, {"browser": 700, "app": 350})
    expectation = expect_placement(spec, exposure, stats({"2": 80, "3": 20}))
    assert expectation is not None and expectation.explanation.startswith("simulated")
    assert expectation.misses == pytest.approx(1050 * 2 / 3, rel=0.02)
    sigma = math.sqrt(expectation.variance)
    assert sigma == pytest.approx(math.sqrt(1050 * 2 / 3 / 3), rel=0.35)  # the binomial spread of 1050 coins
    assert expectation.tolerance() == pytest.approx(SIGMAS * sigma / 1050 + FLOOR)


def test_a_node_kill_is_replayed_at_its_time_with_the_dead_node_named_by_the_run() -> None:
    """The expectation scales each replication to the run's own requests; a run shaped like the replay expects
    node-2's 10 pinned browsers to miss once each, and nothing before the kill."""
    load = LoadModel(("browser",) * 30, 10.0, ((2.0, 1),))
    shape = replay("sticky", 3, load, Disruption(victim=1, at=5.0, ejected_at=5.5), seed=11)
    before, after = shape.requests[("browser", False)], shape.requests[("browser", True)]
    exposure = Exposure(3, {"browser": 30}, {"browser": before}, {"browser": after}, killed=True)
    spec = CellSpec("sticky", "memory", "node-failure", 3, 30, 10.0)
    expectation = expect_placement(spec, exposure, stats({"2": 1}), Kill("node-2", 5.0, 5.5))
    assert expectation is not None and expectation.rate_before == 0.0
    assert expectation.misses == pytest.approx(10, rel=0.05)


@pytest.mark.parametrize(
    ("routing", "store", "scenario", "simulated"),
    [
        ("sticky", "memory", "steady", True),
        ("round_robin", "memory", "node-failure", True),
        ("hash", "memory", "steady", False),
        ("route", "memory", "steady", False),
        ("sticky", "redis", "steady", False),
        ("sticky", "memory", "rolling-deploy", False),
    ],
)
def test_only_memory_cells_placed_by_a_counter_or_coin_are_replayed(
    routing: str, store: str, scenario: str, simulated: bool
) -> None:
    assert modelled(CellSpec(routing, store, scenario, 3, 30, 10.0)) is simulated


@pytest.mark.parametrize(
    ("routing", "store", "scenario", "rate", "judged"),
    [
        ("sticky", "memory", "rolling-deploy", 100.0, False),  # app users on the counter, in step, through drains
        ("round_robin", "memory", "scale-out", 200.0, False),
        ("sticky", "memory", "scale-in", 100.0, False),
        ("sticky", "memory", "rolling-deploy", 0.0, True),  # closed loop: the churn theory's draws hold
        ("sticky", "memory", "steady", 100.0, True),  # the replay models it
        ("sticky", "memory", "node-failure", 200.0, True),
        ("random", "memory", "rolling-deploy", 100.0, True),  # coins are independent in any load model
        ("hash", "memory", "scale-out", 100.0, True),  # the ring, not a counter
        ("sticky", "redis", "rolling-deploy", 100.0, True),  # a shared store: placement costs no miss
    ],
)
def test_open_loop_cells_placed_by_a_counter_through_membership_changes_say_not_modelled(
    routing: str, store: str, scenario: str, rate: float, judged: bool
) -> None:
    """Issue 26: a cell whose theory is out of reach says "not modelled" rather than disagreeing by design."""
    reason = out_of_reach(CellSpec(routing, store, scenario, 3, 30, 10.0, arrival_rate=rate))
    assert (reason is None) is judged
    if reason is not None:
        assert "round-robin counter" in reason and f"{rate:g}/s" in reason


def test_a_slow_second_slows_the_replay_in_that_second_only() -> None:
    """Response times are drawn from the run's own second: 1 ms throughout, 40 ms in its third second."""
    histograms = tuple((float(second), ((40.0 if second == 2 else 1.0, 1),)) for second in range(5))
    load = LoadModel(("app",), 5.0, ((1.0, 1),), latency_by_second=histograms)
    sampler = LatencySampler(load, random.Random(1))
    assert sampler(1.5) == pytest.approx(0.001) and sampler(2.5) == pytest.approx(0.040)
    assert sampler(7.0) == pytest.approx(0.001)  # past the run's seconds: the whole run's histogram
