"""The report's "shared store" table: a store fault's outage and lost sessions, and a delay's cost per round trip."""

from __future__ import annotations

from loadtest.compare.report.survival import survival_lines
from loadtest.compare.report.tables import build_tables
from tests.loadtest.compare.generated import cell


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
    assert "GET /me +2.2 (2.05)" in delayed[-1] and "POST /counter +7 (4.1) DISAGREES" in delayed[-1]


def test_each_store_says_what_it_survives_from_its_cells_and_what_was_not_measured() -> None:
    kill = cell("sticky", "memory", "node-failure", 0.0, after_p=0.3) | {"misses": 14, "miss_rate": 0.008}
    redis_kill = cell("random", "redis", "node-failure", 0.0) | {"misses": 0}
    lines = survival_lines([kill, redis_kill, *store_cells()])
    memory, redis = lines["memory"], lines["redis"]
    assert memory[0].startswith("node kill: loses sessions — sticky: 14 misses (0.8%")
    assert redis[0].startswith("node kill: survives: no session lost — random: 0 misses")
    assert redis[1].startswith("store restart: loses sessions — random: ")
    assert "12 of 12 sessions lost, 503s for 3.2 s" in redis[1]
    assert redis[2] == ("distance: 2 ms added (measured RTT 2.05 ms): p50 GET /me +2.2 ms (theory 2.05), "
                        "POST /counter +7 ms (theory 4.1), 2 failed requests")  # fmt: skip
    assert redis[-1].startswith(  # in the scenario registry's order
        "not measured in this run: store failover (`--scenario store-failover,store-failover-wait`), deploy"
    )
    assert "distance" in memory[-1] and "distance" not in redis[-1]
