"""The session group of a cell's record (record/session_measures.py): every issue-23 measure in results.json with
its theory or "not modelled", idle expiries judged apart from placement misses, and a 500 always a finding."""

from __future__ import annotations

from dataclasses import replace

from loadtest.compare.record import session_measures as M
from loadtest.compare.record.cells import build_cell
from loadtest.compare.spec import CellSpec, SessionKnobs
from loadtest.users import session_life as L
from loadtest.users import tally as T
from tests.loadtest.compare.generated import START, stats_doc

COUNTERS = {"node_counters": {"requests": 600, "store_writes": 300, "store_touches": 280, "store_bytes_written": 3e5}}


def with_idle(stats: dict, gaps: int, expired: int) -> dict:  # type: ignore[type-arg]
    """The stats file with the idle-gap users' counts added: `gaps` pauses by browsers, `expired` missed after."""
    tally = T.Tally()
    tally.count(L.IDLE_GAPS, "browser", gaps, now=START)
    tally.count(L.EXPIRED_AFTER_IDLE, "browser", expired, now=START)
    tally.count(T.MISSES, "browser", expired, now=START)
    tally.count(T.SESSION_REQUESTS, "browser", expired, now=START)
    per_second = dict(stats["per_second"])
    for second, counts in tally.drain().items():
        merged = dict(per_second.get(second, {}))
        for key, value in counts.items():
            merged[key] = merged.get(key, 0) + value
        per_second[second] = merged
    return {**stats, "per_second": per_second}


def test_every_issue_measure_is_in_results_json_with_its_theory() -> None:
    spec = CellSpec("random", "redis", "steady", 3, 30, 10.0)
    record = M.add(build_cell(spec, stats_doc(0.0)), spec, stats_doc(0.0), COUNTERS, {})
    fields = record.to_json()
    assert set(M.MEASURES) <= set(fields)
    assert fields["store_writes_per_request"] == round(580 / 600, 3) and fields["store_bytes_per_session"] == 1000
    assert set(M.MEASURES) - {"session_kb"} <= set(fields["session_theory"]) | {"session_kb"}
    assert fields["session_theory"]["forced_relogins"].startswith("not modelled: ")
    assert fields["no_500_agrees"] is True and fields["verdict"] == "ok"


def test_a_500_is_a_finding_in_any_cell() -> None:
    spec = CellSpec("random", "redis", "steady", 3, 30, 10.0)
    stats = stats_doc(0.0)
    record = build_cell(spec, stats).with_measures("errors", {"errors_by_status": {"500": 1}})
    judged = M.add(record, spec, stats, {}, {})
    assert judged.to_json()["no_500_agrees"] is False and judged.off_theory == ["500s"]


def test_expiries_after_an_idle_gap_are_judged_by_the_lifetimes_not_as_placement_misses() -> None:
    knobs = SessionKnobs(idle_gap=100, session_ttl=60, touch="always", time_scale=0.05)  # 5 s gaps, 3 s TTL
    spec = replace(CellSpec("random", "redis", "steady", 3, 30, 10.0), session=knobs)
    stats = with_idle(stats_doc(0.0), gaps=12, expired=12)
    fields = M.add(build_cell(spec, stats), spec, stats, {}, {}).to_json()
    assert fields["expired_after_idle"] == 12 and fields["expired_after_idle_agrees"] is True
    assert fields["misses"] == 12 and fields["miss_agrees_with_theory"] is True and fields["verdict"] == "ok"
    assert "judged apart" in fields["theory"]
    short = M.add(build_cell(spec, with_idle(stats_doc(0.0), 12, 5)), spec, with_idle(stats_doc(0.0), 12, 5), {}, {})
    assert short.to_json()["expired_after_idle_agrees"] is False  # 5 s > 3 s: all 12 should have expired


def test_an_lru_cells_misses_are_judged_against_redis_own_eviction_count() -> None:
    knobs = SessionKnobs(session_kb=16, redis_eviction="allkeys-lru", redis_maxmemory_mb=3)
    spec = replace(CellSpec("random", "redis", "store-full", 3, 30, 10.0), session=knobs)
    stats = stats_doc(0.02)  # about 12 misses
    misses = build_cell(spec, stats).to_json()["misses"]
    within = M.add(build_cell(spec, stats), spec, stats, {"redis_evicted_keys": 100 + misses}, {
        "filler_sessions_lost": 100}).to_json()  # fmt: skip
    assert within["miss_agrees_with_theory"] is True and "less the 100 idle users' sessions lost" in within["theory"]
    beyond = M.add(build_cell(spec, stats), spec, stats, {"redis_evicted_keys": 100 + misses - 1}, {
        "filler_sessions_lost": 100}).to_json()  # fmt: skip
    assert beyond["miss_agrees_with_theory"] is False  # a miss Redis did not evict for: a finding
    # the table shows that bound as the theory (its middle +- half), not the 0 +- 1% of a store that loses nothing
    low, high = within["expected_miss_rate"] - within["tolerance"], within["expected_miss_rate"] + within["tolerance"]
    assert low == 0 and high * within["session_requests"] == misses
