"""The report's "shared store" table: a store fault's outage and lost sessions, and a delay's cost per round trip."""

from __future__ import annotations

from loadtest.compare.report.survival import survival_lines
from loadtest.compare.report.tables import build_tables
from tests.loadtest.compare.generated import cell
from tests.loadtest.compare.report.reading import numbers


def store_cells() -> list[dict]:
    fault = {"outage_s": 3.21, "healed_after_s": 0.4, "sessions_lost": 12, "sessions_checked": 12}
    failure = cell("random", "redis", "store-failure", 0.05) | fault
    delayed = cell("random", "redis", "steady", 0.0) | {
        "store_latency_ms": 2.0, "store_rtt_ms": 2.05, "store_delay_method": "relay",
        "store_latency_check": {"GET /me": {"round_trips": 1, "p50_added_ms": 2.2, "expected_ms": 2.05, "agrees": True},
                                "POST /counter": {"round_trips": 2, "p50_added_ms": 7.0, "expected_ms": 4.1,
                                                  "agrees": False}},
    }  # fmt: skip
    return [failure, delayed, cell("random", "memory", "steady", 0.66)]


def test_store_faults_and_distance_get_their_own_table_with_every_figure() -> None:
    [table] = [t for t in build_tables(store_cells()) if t.title == "The shared store"]
    assert len(table.rows) == 2  # the memory cell measured neither
    failure, delayed = table.rows
    assert "3.21" in failure and "0.40" in failure and "12 of 12" in failure
    assert "2.05 ms (relay)" in delayed
    assert numbers(r"GET /me \+# \(#\)", delayed[-1]) == [(2.2, 2.05)]
    assert numbers(r"POST /counter \+# \(#\) DISAGREES", delayed[-1]) == [(7, 4.1)]  # only the one that disagrees
    assert delayed[-1].count("DISAGREES") == 1


def test_each_store_says_what_it_survives_from_its_cells_and_what_was_not_measured() -> None:
    kill = cell("sticky", "memory", "node-failure", 0.0, after_p=0.3) | {"misses": 14, "miss_rate": 0.008}
    redis_kill = cell("random", "redis", "node-failure", 0.0) | {"misses": 0}
    lines = survival_lines([kill, redis_kill, *store_cells()])
    memory, redis = lines["memory"], lines["redis"]
    assert memory[0].startswith("node kill: loses sessions") and numbers(r"sticky: # misses \(#%", memory[0]) == [
        (14, 0.8)
    ]
    assert redis[0].startswith("node kill: survives") and numbers(r"random: # misses", redis[0]) == [(0,)]
    assert redis[1].startswith("store restart: loses sessions")
    assert numbers(r"# of # sessions lost, 503s for # s", redis[1]) == [(12, 12, 3.2)]
    distance = redis[2]
    assert distance.startswith("distance:") and numbers(r"# ms added \(measured RTT # ms\)", distance) == [(2, 2.05)]
    assert numbers(r"GET /me \+# ms \(theory #\)", distance) == [(2.2, 2.05)]
    assert numbers(r"POST /counter \+# ms \(theory #\)", distance) == [(7, 4.1)]
    assert numbers(r"# failed requests", distance) == [(2,)]
    not_measured = redis[-1]  # in the scenario registry's order
    assert not_measured.startswith("not measured in this run:")
    assert not_measured.index("store-failover") < not_measured.index("deploy")
    assert "distance" in memory[-1] and "distance" not in redis[-1]
