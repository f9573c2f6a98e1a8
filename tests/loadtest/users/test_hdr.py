"""HDR recording: percentiles match a brute-force sort, and merging encoded histograms loses nothing."""

from __future__ import annotations

import random

import pytest

from loadtest.compare.fidelity.crosscheck import exact_percentile
from loadtest.users import hdr


def _samples(seed: int, n: int) -> list[float]:
    rng = random.Random(seed)  # latency-like: mostly ~1 ms, a long tail up to seconds
    return [rng.lognormvariate(0.0, 1.2) * (50 if rng.random() < 0.02 else 1) for _ in range(n)]


@pytest.mark.parametrize("q", [50, 90, 99, 99.9])
def test_percentiles_match_a_sort_of_the_same_samples(q: float) -> None:
    samples = _samples(1, 20_000)
    recorder = hdr.Recorder()
    for value in samples:
        recorder.record(hdr.LATENCY, value, now=0)
    measured = hdr.percentile_ms(hdr.series_total(recorder.encode(), hdr.LATENCY), q)
    truth = exact_percentile([round(v * 1000) / 1000 for v in samples], q)  # the histogram's microsecond units
    assert measured == pytest.approx(truth, rel=0.001, abs=0.001)  # 3 significant digits


def test_histograms_drained_by_workers_merge_into_the_whole_runs_percentiles() -> None:
    samples = _samples(2, 9_000)
    whole, master = hdr.Recorder(), hdr.Recorder()
    workers = [hdr.Recorder() for _ in range(3)]
    for index, value in enumerate(samples):
        whole.record(hdr.LATENCY, value, now=1000 + index % 5)
        workers[index % 3].record(hdr.LATENCY, value, now=1000 + index % 5)
    for worker in workers:
        master.merge(worker.drain())
        assert worker.encode() == {}  # drained: the next report carries only what came after
    merged, single = (hdr.series_total(r.encode(), hdr.LATENCY) for r in (master, whole))
    assert merged.get_total_count() == len(samples)
    for q in (50, 99, 99.9):
        assert hdr.percentile_ms(merged, q) == hdr.percentile_ms(single, q)
    assert sorted(master.encode()[hdr.LATENCY]) == [str(s) for s in range(1000, 1005)]  # per second kept


def test_values_keep_microsecond_resolution_and_an_empty_series_has_no_percentile() -> None:
    histogram = hdr.new_histogram()
    histogram.record_value(hdr.to_us(0.257))
    assert hdr.percentile_ms(histogram, 50) == pytest.approx(0.257)
    assert hdr.percentile_ms(hdr.new_histogram(), 99) is None
    assert hdr.to_us(10**9) == hdr.HIGHEST_US  # a 60 s+ stall is kept at the top, not dropped
