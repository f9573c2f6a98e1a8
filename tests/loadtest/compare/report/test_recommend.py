"""The Recommendation: each sentence computed from the cells, for the run's client mix."""

from __future__ import annotations

from typing import Any

from loadtest.compare.report.recommend import recommend

from ..generated import cell, concurrent_cell, matrix

BOTH = {"user_kinds": ["browser", "app"]}


def text(cells: list[dict[str, Any]], meta: dict[str, Any] = BOTH) -> str:
    found = recommend(cells, meta)
    return "\n".join([found.headline, found.intro, *found.lines])


def test_recommends_a_store_and_routing_that_lost_nothing() -> None:
    found = recommend(matrix(), BOTH)
    assert found.headline.startswith("Use the redis store with random routing") or "cookie" in found.headline
    assert "lost nothing" in found.headline
    assert "memory" not in found.headline


def test_names_the_choices_that_failed_each_scenario() -> None:
    said = text(matrix())
    assert "Broken in steady: memory + random" in said
    assert "Broken in node-failure: memory + random" in said


def test_the_costs_are_measured_numbers() -> None:
    cells = [cell("random", "redis", "steady", 0.0), cell("random", "cookie", "steady", 0.0)]
    cells[0]["p99_ms"], cells[1]["p99_ms"] = 40.0, 90.0
    said = text(cells)
    assert "Use the redis store with random routing" in said
    assert "p99 40 ms (the fastest of all choices)" in said
    assert "p99 90 ms (50 ms above redis + random, the fastest choice)" in said


def test_nothing_lossless_says_so_and_names_the_least_lossy() -> None:
    found = recommend([cell("random", "memory", "steady", 2 / 3), cell("hash", "memory", "steady", 0.3)], BOTH)
    assert found.headline.startswith("No choice lost nothing; the least lossy was memory + hash")


def test_a_cookie_session_that_outlives_logout_all_is_a_caveat_that_ranks_it_lower() -> None:
    cookie, redis = cell("random", "cookie", "steady", 0.0), cell("random", "redis", "steady", 0.0)
    cookie["p99_ms"], redis["p99_ms"] = 10.0, 80.0
    cookie["revocation"] = {"until": "expiry", "max_age_s": 1800}
    said = text([cookie, redis])
    assert "Use the redis store" in said and "usable after logout-all until it expires (1800 s idle)" in said


def test_client_mix_decides() -> None:
    sticky = cell("sticky", "memory", "steady", 0.2)
    sticky["by_kind"]["browser"].update(misses=0, miss_rate=0.0)
    said = text([sticky, cell("random", "redis", "steady", 0.0)])
    assert "In steady, memory + sticky kept every session of browser users with cookies but missed" in said
    assert "for app users with tokens: it fits only a mix without them" in said
    assert "Not measured for app users" in text([cell("random", "redis", "steady", 0.0)], {"user_kinds": ["browser"]})


def test_parallel_writes_per_mode() -> None:
    cells = [*matrix(), concurrent_cell("redis", "cas", acked=100, lost=0),
             concurrent_cell("cookie", "last_write_wins", acked=100, lost=20)]  # fmt: skip
    said = text(cells)
    assert "redis with cas lost 0 of 100 (0.0%); cookie with last_write_wins lost 20 of 100 (20.0%)" in said
    assert "Only redis (cas) kept every write." in said
    assert "its default last_write_wins mode lost 20.0% of parallel writes" in said


def test_disagreements_with_theory_are_named() -> None:
    assert "1 cell(s) disagree with theory and are marked ≠ in the grid: memory + hash (steady)" in text(matrix())


def test_throughput_is_the_measured_capacity_where_there_is_one_and_says_it_is_a_load_where_not() -> None:
    cells = [cell("random", "redis", "steady", 0.0), cell("random", "cookie", "steady", 0.0)]
    assert "a load, not a capacity: `--capacity` measures that" in text(cells)
    for store, found in (("redis", 2600.0), ("cookie", 2000.0)):  # a --capacity search's cells: no miss counts
        cells.append({"store": store, "routing": "random", "scenario": "capacity", "capacity_rps": found,
                      "capacity_slo_ms": 50.0})  # fmt: skip
    said = text(cells)
    assert "capacity 2,600 requests/s with p99 ≤ 50 ms (100% of the highest capacity)" in said
    assert "capacity 2,000 requests/s with p99 ≤ 50 ms (77% of the highest capacity)" in said


def test_a_store_fault_counts_for_every_routing_of_that_store() -> None:
    """Redis restarting without persistence loses sessions whatever the routing: redis + sticky, which only ran
    the node events cleanly, is not "lossless" once the run's store-failure cell (routed at random) lost some."""
    cells = [cell("sticky", "redis", "node-failure", 0.0), cell("random", "cookie", "node-failure", 0.0)]
    assert text(cells).startswith("Use the redis store with sticky routing") or "redis + sticky" in text(cells)
    fault = cell("random", "redis", "steady", 0.0) | {"scenario": "store-failure", "sessions_lost": 300,
                                                       "sessions_checked": 300}  # fmt: skip
    said = text([*cells, fault])
    assert said.startswith("Use the cookie store with random routing: the only choice that lost nothing")
    assert "Lost nothing: cookie + random." in said
    assert "300 of 300 sessions lost" in said


def test_a_choice_measured_in_fewer_scenarios_than_ran_says_so_and_its_cpu_cost_is_stated() -> None:
    cells = [cell("random", "cookie", "steady", 0.0), cell("random", "memory", "node-failure", 0.5)]
    cells[0] |= {"cluster_cpu_s": 2.0, "requests": 2000}
    cells[1] |= {"cluster_cpu_s": 0.5, "requests": 1000}
    said = text(cells)
    assert "the only choice that lost nothing (measured in steady only)" in said
    assert "cluster CPU 1,000 µs per request (2.0× the cheapest choice)" in said
