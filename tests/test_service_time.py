"""The servers' service-time histogram: 5% buckets, differences between two readings, percentiles from them."""

from __future__ import annotations

import pytest

from nodes.contract.service_time import ServiceTimes, bucket_of, difference, percentile_ms, upper_ms


@pytest.mark.parametrize("ms", [0.004, 0.01, 0.0105, 0.3, 1.0, 2.5, 47.0, 1500.0])
def test_a_time_lands_in_the_bucket_whose_bounds_hold_it_within_5_percent(ms: float) -> None:
    index = bucket_of(ms)
    assert ms <= upper_ms(index) * (1 + 1e-9)
    assert index == 0 or ms > upper_ms(index - 1)
    assert index == 0 or upper_ms(index) <= ms * 1.05 + 1e-12


def test_two_readings_differ_by_exactly_the_requests_between_them() -> None:
    times = ServiceTimes()
    for ms in (1.0, 1.0, 5.0):
        times.record(ms / 1000)
    before = times.snapshot()
    for ms in [2.0] * 98 + [40.0, 80.0]:
        times.record(ms / 1000)
    between = difference(times.snapshot(), before)
    assert sum(between.values()) == 100
    assert percentile_ms(between, 50) == pytest.approx(2.0, rel=0.05)
    assert percentile_ms(between, 99) == pytest.approx(40.0, rel=0.05)
    assert percentile_ms({}, 50) is None
    assert difference(before, None) == {bucket_of(1.0): 2, bucket_of(5.0): 1}
