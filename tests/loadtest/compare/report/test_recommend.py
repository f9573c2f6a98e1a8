"""The Recommendation: each sentence computed from the cells, for the run's client mix. The tests read back the
choice and the numbers each sentence carries (see reading.py) and a few key phrases, not the wording."""

from __future__ import annotations

import re
from typing import Any

from loadtest.compare.report.recommend import Recommendation, recommend

from ..generated import cell, concurrent_cell, matrix
from .reading import line_starting, numbers, pairs

BOTH = {"user_kinds": ["browser", "app"]}


def text(cells: list[dict[str, Any]], meta: dict[str, Any] = BOTH) -> str:
    found = recommend(cells, meta)
    return "\n".join([found.headline, found.intro, *found.lines])


def chosen(found: Recommendation) -> tuple[str, str] | None:
    """The (store, routing) the headline recommends, or None when it recommends none."""
    match = re.match(r"Use the (\w+) store with (\w+) routing", found.headline)
    return (match[1], match[2]) if match else None


def lossless(found: Recommendation) -> list[tuple[str, str]]:
    return pairs(line_starting(found.lines, "Lost nothing:"))


def test_recommends_a_store_and_routing_that_lost_nothing() -> None:
    """redis + random and cookie + sticky lost nothing (logout-all not measured here); redis + random ranks first."""
    found = recommend(matrix(), BOTH)
    assert chosen(found) == ("redis", "random") and "lost nothing" in found.headline
    assert set(lossless(found)) == {("cookie", "sticky"), ("redis", "random")}
    assert "memory" not in found.headline


def test_names_the_choices_that_failed_each_scenario() -> None:
    found = recommend(matrix(), BOTH)
    assert ("memory", "random") in pairs(line_starting(found.lines, "Broken in steady:"))
    assert pairs(line_starting(found.lines, "Broken in node-failure:")) == [("memory", "random")]


def test_the_costs_are_measured_numbers() -> None:
    cells = [cell("random", "redis", "steady", 0.0), cell("random", "cookie", "steady", 0.0)]
    cells[0]["p99_ms"], cells[1]["p99_ms"] = 40.0, 90.0
    found = recommend(cells, BOTH)
    assert chosen(found) == ("redis", "random")
    redis, cookie = line_starting(found.lines, "redis + random:"), line_starting(found.lines, "cookie + random:")
    assert numbers(r"p99 # ms", redis) == [(40,)] and "the fastest of all choices" in redis
    assert numbers(r"p99 # ms \(# ms above", cookie) == [(90, 50)]
    assert pairs(cookie.split("above")[1])[0] == ("redis", "random")  # above the fastest choice


def test_nothing_lossless_says_so_and_names_the_least_lossy() -> None:
    found = recommend([cell("random", "memory", "steady", 2 / 3), cell("hash", "memory", "steady", 0.3)], BOTH)
    assert chosen(found) is None and found.headline.startswith("No choice lost nothing")
    assert pairs(found.headline.split("least lossy")[1])[0] == ("memory", "hash")


def test_a_cookie_session_that_outlives_logout_all_is_a_caveat_that_ranks_it_lower() -> None:
    cookie, redis = cell("random", "cookie", "steady", 0.0), cell("random", "redis", "steady", 0.0)
    cookie["p99_ms"], redis["p99_ms"] = 10.0, 80.0  # cookie is faster, yet ranks lower
    cookie["revocation"] = {"until": "expiry", "max_age_s": 1800}
    found = recommend([cookie, redis], BOTH)
    assert chosen(found) == ("redis", "random")
    assert lossless(found) == [("redis", "random")]  # a session usable after logout-all is not lossless
    caveat = line_starting(found.lines, "cookie + random kept every session")
    assert "logout-all" in caveat and numbers(r"\(# s idle\)", caveat) == [(1800,)] and "not lossless" in caveat


def test_client_mix_decides() -> None:
    sticky = cell("sticky", "memory", "steady", 0.2)
    sticky["by_kind"]["browser"].update(misses=0, miss_rate=0.0)
    found = recommend([sticky, cell("random", "redis", "steady", 0.0)], BOTH)
    mix = line_starting(found.lines, "In steady, memory + sticky")
    browsers, apps = mix.split(" but ")
    assert "kept every session" in browsers and "browser" in browsers
    assert numbers(r"missed #%", apps) == [(round(100 * sticky["by_kind"]["app"]["miss_rate"], 1),)]
    assert "app users" in apps and "only a mix without them" in apps
    assert "Not measured for app users" in text([cell("random", "redis", "steady", 0.0)], {"user_kinds": ["browser"]})


def test_parallel_writes_per_mode() -> None:
    cells = [*matrix(), concurrent_cell("redis", "cas", acked=100, lost=0),
             concurrent_cell("cookie", "last_write_wins", acked=100, lost=20)]  # fmt: skip
    found = recommend(cells, BOTH)
    writes = line_starting(found.lines, "Parallel writes")
    lost = dict(zip(re.findall(r"(\w+ with \w+) lost", writes), numbers(r"lost # of # \(#%\)", writes), strict=True))
    assert lost == {"redis with cas": (0, 100, 0.0), "cookie with last_write_wins": (20, 100, 20.0)}
    assert re.search(r"Only (.+) kept every write", writes)[1] == "redis (cas)"  # type: ignore[index]
    cookie = line_starting(found.lines, "cookie + sticky kept every session")  # lost writes: never "lossless"
    assert numbers(r"last_write_wins mode lost #%", cookie) == [(20.0,)] and "not lossless" in cookie
    assert ("cookie", "sticky") not in lossless(found)


def test_disagreements_with_theory_are_named() -> None:
    found = recommend(matrix(), BOTH)
    named = line_starting(found.lines, "1 cell(s) disagree with theory")
    assert "≠" in named and pairs(named) == [("memory", "hash")] and "(steady)" in named


def test_throughput_is_the_measured_capacity_where_there_is_one_and_says_it_is_a_load_where_not() -> None:
    cells = [cell("random", "redis", "steady", 0.0), cell("random", "cookie", "steady", 0.0)]
    assert "a load, not a capacity" in text(cells)
    for store, found in (("redis", 2600.0), ("cookie", 2000.0)):  # a --capacity search's cells: no miss counts
        cells.append({"store": store, "routing": "random", "scenario": "capacity", "capacity_rps": found,
                      "capacity_slo_ms": 50.0})  # fmt: skip
    lines = recommend(cells, BOTH).lines
    pattern = r"capacity # requests/s with p99 ≤ # ms \(#% of the highest"
    assert numbers(pattern, line_starting(lines, "redis + random:")) == [(2600, 50, 100)]
    assert numbers(pattern, line_starting(lines, "cookie + random:")) == [(2000, 50, 77)]


def test_a_store_fault_counts_for_every_routing_of_that_store() -> None:
    """Redis restarting without persistence loses sessions whatever the routing: redis + sticky, which only ran
    the node events cleanly, is not "lossless" once the run's store-failure cell (routed at random) lost some."""
    cells = [cell("sticky", "redis", "node-failure", 0.0), cell("random", "cookie", "node-failure", 0.0)]
    assert set(lossless(recommend(cells, BOTH))) == {("redis", "sticky"), ("cookie", "random")}
    fault = cell("random", "redis", "steady", 0.0) | {"scenario": "store-failure", "sessions_lost": 300,
                                                       "sessions_checked": 300}  # fmt: skip
    found = recommend([*cells, fault], BOTH)
    assert chosen(found) == ("cookie", "random") and "the only choice" in found.headline
    assert lossless(found) == [("cookie", "random")]
    assert numbers(r"# of # sessions lost", text([*cells, fault])) == [(300, 300)]


def test_a_choice_measured_in_fewer_scenarios_than_ran_says_so_and_its_cpu_cost_is_stated() -> None:
    cells = [cell("random", "cookie", "steady", 0.0), cell("random", "memory", "node-failure", 0.5)]
    cells[0] |= {"cluster_cpu_s": 2.0, "requests": 2000}
    cells[1] |= {"cluster_cpu_s": 0.5, "requests": 1000}
    found = recommend(cells, BOTH)
    assert chosen(found) == ("cookie", "random") and "(measured in steady only)" in found.headline
    cookie = line_starting(found.lines, "cookie + random:")
    assert numbers(r"cluster CPU # µs per request \(#× the cheapest", cookie) == [(1000, 2.0)]
