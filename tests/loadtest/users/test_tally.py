"""Per-second counters that must add up the same across locust workers."""

from __future__ import annotations

from loadtest.users import tally as T


def test_counts_land_in_their_second_and_sum_to_totals() -> None:
    tally = T.Tally()
    tally.count(T.MISSES, "browser", now=100.2)
    tally.count(T.MISSES, "browser", now=100.9)
    tally.count(T.MISSES, "app", 3, now=101.0)
    assert tally.to_dict() == {"100": {"misses:browser": 2}, "101": {"misses:app": 3}}
    assert T.labels(tally.totals(), T.MISSES) == {"browser": 2, "app": 3}
    assert T.measure_total(tally.totals(), T.MISSES) == 5


def test_workers_increments_merge_into_the_masters_totals() -> None:
    master, worker_a, worker_b = T.Tally(), T.Tally(), T.Tally()
    worker_a.count(T.NODE, "node-1", 4, now=10)
    worker_b.count(T.NODE, "node-1", 1, now=10)
    worker_b.count(T.NODE, "node-2", 2, now=11)
    master.merge(worker_a.drain())
    master.merge(worker_b.drain())
    worker_a.count(T.NODE, "node-2", 1, now=11)
    master.merge(worker_a.drain())  # a later report carries only what is new
    assert master.to_dict() == {"10": {"node:node-1": 5}, "11": {"node:node-2": 3}}
    assert worker_a.to_dict() == {}


def test_latency_buckets_keep_two_significant_digits() -> None:
    assert [T.latency_bucket(v) for v in (0.534, 1.26, 47.4, 153.0, 2345.0)] == ["0.53", "1.3", "47", "150", "2300"]
    assert T.latency_bucket(-1) == "0"


def test_percentiles_from_a_bucket_histogram() -> None:
    histogram = {"1": 50, "2": 45, "10": 4, "100": 1}
    assert T.percentile(histogram, 0.5) == 1.0
    assert T.percentile(histogram, 0.95) == 2.0
    assert T.percentile(histogram, 0.99) == 10.0
    assert T.percentile(histogram, 1.0) == 100.0
    assert T.percentile({}, 0.5) is None
