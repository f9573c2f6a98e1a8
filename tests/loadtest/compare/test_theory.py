"""The expected miss rates: closed forms, and a simulation of the same model that must agree with them."""

from __future__ import annotations

import random

import pytest

from loadtest.compare.theory.expect import expect, expect_lost_updates
from loadtest.compare.theory.model import Expectation, Exposure, pinning
from nodes.contract.names import consistency_modes, default_consistency


def exposure(before: int = 900, after: int = 0, users: int = 30, nodes: int = 3, kinds: tuple[str, ...] = ("browser",)):
    share = len(kinds)
    return Exposure(
        nodes=nodes,
        users={k: users // share for k in kinds},
        before={k: before // share for k in kinds},
        after={k: after // share for k in kinds} if after else {},
        killed=after > 0,
    )


@pytest.mark.parametrize("store", ["cookie", "redis"])
@pytest.mark.parametrize("routing", ["random", "round_robin", "sticky", "hash"])
def test_shared_stores_never_miss_even_with_a_node_killed(store: str, routing: str) -> None:
    result = expect(routing, store, exposure(before=500, after=500, kinds=("browser", "app")))
    assert result.misses == 0 and result.rate == 0
    assert result.exact_zero and result.tolerance(killed=True) == 0
    assert result.agrees(0.0) and not result.agrees(0.001)


@pytest.mark.parametrize("nodes", [2, 3, 5])
def test_memory_random_misses_n_minus_1_over_n(nodes: int) -> None:
    result = expect("random", "memory", exposure(before=3000, nodes=nodes))
    assert result.rate == pytest.approx((nodes - 1) / nodes)
    assert result.rate_before == pytest.approx((nodes - 1) / nodes)


def test_memory_random_after_a_kill_weights_both_halves_plus_the_stranded_sessions() -> None:
    result = expect("round_robin", "memory", exposure(before=1000, after=1000, users=30))
    stranded = 30 / 3 * (1 - 1 / 2)  # the dead node's sessions miss for sure instead of with 1/2
    assert result.misses == pytest.approx(1000 * 2 / 3 + 1000 / 2 + stranded)
    assert (result.rate_before, result.rate_after) == (pytest.approx(2 / 3), pytest.approx(1 / 2))


def test_memory_sticky_pins_browsers_but_not_app_users() -> None:
    assert pinning("sticky", "browser") == "cookie" and pinning("sticky", "app") == "spread"
    steady = expect("sticky", "memory", Exposure(3, {"browser": 20, "app": 10}, {"browser": 600, "app": 300}))
    assert steady.misses == pytest.approx(300 * 2 / 3)  # only the app users miss
    killed = expect("sticky", "memory", Exposure(3, {"browser": 30}, {"browser": 500}, {"browser": 500}, True))
    assert killed.misses == pytest.approx(30 / 3)  # one miss per browser user pinned to the dead node
    assert killed.rate_before == 0


def test_memory_hash_costs_n_minus_1_misses_per_user_then_none() -> None:
    result = expect("hash", "memory", exposure(before=3000, users=40))
    assert result.misses == pytest.approx(40 * 2)
    killed = expect("hash", "memory", exposure(before=1500, after=1500, users=40))
    assert killed.misses == pytest.approx(40 * 2 + 40 / 3 * 2)


def test_tolerance_grows_with_variance_and_has_a_floor() -> None:
    small = expect("random", "memory", exposure(before=90))
    large = expect("random", "memory", exposure(before=9000))
    assert small.tolerance() > large.tolerance() > 0.01
    assert large.tolerance(killed=True) > large.tolerance()


def test_unknown_choices_are_refused() -> None:
    with pytest.raises(ValueError, match="routing"):
        expect("least_conn", "memory", exposure())
    with pytest.raises(ValueError, match="store"):
        expect("random", "memcached", exposure())


# -- the model simulated request by request must land within tolerance of the closed forms ----------------


def simulate_spread(rng: random.Random, nodes: int, users: int, per_user_before: int, per_user_after: int) -> int:
    home = [rng.randrange(nodes) for _ in range(users)]  # where each user's session lives
    misses = 0
    for alive, rounds in ((list(range(nodes)), per_user_before), (list(range(1, nodes)), per_user_after)):
        for _ in range(rounds):
            for user in range(users):
                if rng.choice(alive) != home[user]:
                    misses += 1
                    home[user] = rng.choice(alive)  # the re-login lands anywhere
    return misses


def simulate_hash(rng: random.Random, nodes: int, users: int, killed: bool) -> int:
    misses = 0
    for _ in range(users):
        while rng.randrange(nodes) != rng.randrange(nodes):  # created on one node, hashed to another
            misses += 1
    if killed:
        for _ in range(users):
            if rng.randrange(nodes) == 0:  # this user's session hashed to the node that dies
                misses += 1
                while rng.randrange(nodes - 1) != rng.randrange(nodes - 1):
                    misses += 1
    return misses


@pytest.mark.parametrize("nodes", [2, 3, 4])
def test_simulated_spread_agrees_with_theory(nodes: int) -> None:
    rng = random.Random(nodes)
    users, before, after = 60, 20, 20
    measured = simulate_spread(rng, nodes, users, before, after)
    result = expect("random", "memory", Exposure(nodes, {"app": users}, {"app": users * before},
                                                 {"app": users * after}, killed=True))  # fmt: skip
    assert result.agrees(measured / result.session_requests, killed=False)


@pytest.mark.parametrize("nodes", [2, 3, 4])
def test_simulated_hash_agrees_with_theory(nodes: int) -> None:
    rng = random.Random(nodes)
    users, requests = 400, 40_000
    measured = simulate_hash(rng, nodes, users, killed=True)
    result = expect("hash", "memory", Exposure(nodes, {"app": users}, {"app": requests // 2}, {"app": requests // 2},
                                               killed=True))  # fmt: skip
    assert abs(measured - result.misses) <= 3 * result.variance**0.5


def test_a_cell_expecting_misses_disagrees_with_none_where_the_band_reaches_zero() -> None:
    """hash + memory, 15 users over 1,500 session requests: 30 misses expected (rate 0.020), and the band
    (3 sigma + the 0.01 floor) reaches below zero; zero misses happen with (1/3)^15 = 7e-8: they disagree."""
    result = expect("hash", "memory", exposure(before=1500, users=15))
    assert result.rate == pytest.approx(0.02) and result.tolerance() >= result.rate  # the band alone accepts zero
    assert not result.agrees(0.0)
    assert result.agrees(result.rate) and result.agrees(15 / 1500)  # half the expected misses: still plausible


def test_where_the_band_stays_above_zero_the_band_alone_judges() -> None:
    """A replayed sticky + node-failure cell at 100/s (a real run): 245 misses expected of 1,400 session requests,
    the replications' variance 928 (their cycles make it wide and multi-modal); 135 measured lies inside the band
    (17.5% +- 8.5%). A negative-binomial count test would call it too few; the band is the stated theory there."""
    result = Expectation(245.02, 928.5, 1400, 0.175, 0.175, "replay")
    assert result.rate - result.tolerance(killed=True) > 0
    assert result.agrees(135 / 1400, killed=True)
    assert not result.agrees(120 / 1400, killed=True)  # below the band: disagrees


def test_zero_misses_agree_where_the_theory_expects_only_a_few() -> None:
    """hash + memory with 3 users: 6 misses expected, none with probability (1/3)^3 = 0.037: plausible."""
    assert expect("hash", "memory", exposure(before=600, users=3)).agrees(0.0)


@pytest.mark.parametrize("users", [2, 4, 6, 8, 12])
def test_simulated_hash_runs_rarely_have_too_few_misses(users: int) -> None:
    """The lower bound's false alarms, against the independent simulation: one-sided 3 sigma is 0.135%; with
    2,000 runs per size, more than 12 (0.6%) would mean the bound cuts into honest runs."""
    rng = random.Random(users)
    result = expect("hash", "memory", Exposure(3, {"app": users}, {"app": 100 * users}))
    low = [m for m in (simulate_hash(rng, 3, users, killed=False) for _ in range(2000)) if m < result.misses]
    assert sum(not result.agrees(m / result.session_requests) for m in low) <= 12


# -- lost updates -----------------------------------------------------------------------------------------


def test_cas_must_lose_exactly_nothing_and_last_write_wins_is_only_measured() -> None:
    cas = expect_lost_updates("redis", "cas")
    assert cas.expected == 0 and cas.agrees(0) and not cas.agrees(1)
    for store in ("memory", "redis", "cookie"):
        lww = expect_lost_updates(store, "last_write_wins")
        assert lww.expected is None and lww.agrees(500) is None
        assert "reported, not predicted" in lww.explanation


def test_the_cookie_store_has_no_cas() -> None:
    assert consistency_modes("cookie") == ("last_write_wins",)
    assert default_consistency("cookie") == "last_write_wins" and default_consistency("redis") == "cas"
    with pytest.raises(ValueError, match="not possible with the cookie store"):
        expect_lost_updates("cookie", "cas")
