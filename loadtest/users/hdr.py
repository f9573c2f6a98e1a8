"""Exact latency recording: HDR histograms (hdrhistogram's `hdrh`), per series and per wall-clock second.

Values are microseconds, 1 us to 60 s, 3 significant digits (0.1% resolution at any scale) — unlike
locust's own response times, which are rounded to 10 ms above 100 ms. A locust worker drains its histograms
into its stats report as compressed strings (`encode()`); the master decodes and adds them, so the
percentiles of a run are those of every sample from every worker, not an average of percentiles.

Series: `latency` (from the intended start in open-loop mode, from the send in closed-loop mode),
`service` (from the actual send, what the server and network took) and `start_lag` (how long after the
moment it could have left a request actually left: the generator's own delay). Pure: no locust import.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from hdrh.histogram import HdrHistogram

LOWEST_US, HIGHEST_US, DIGITS = 1, 60_000_000, 3
LATENCY, SERVICE, START_LAG = "latency", "service", "start_lag"
Encoded = dict[str, dict[str, str]]  # series -> second -> encoded histogram


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def to_us(ms: float) -> int:
    """A duration in ms as whole microseconds within the histogram's range."""
    return min(max(round(ms * 1000), LOWEST_US), HIGHEST_US)


def decode(encoded: str) -> HdrHistogram:
    return HdrHistogram.decode(encoded.encode() if isinstance(encoded, str) else encoded)


def merged(histograms: Iterable[HdrHistogram]) -> HdrHistogram:
    total = new_histogram()
    for histogram in histograms:
        total.add(histogram)
    return total


def percentile_ms(histogram: HdrHistogram, q: float) -> float | None:
    """The q-th percentile (0-100) in ms, or None for an empty histogram."""
    if not histogram.get_total_count():
        return None
    return float(histogram.get_value_at_percentile(q)) / 1000


def max_ms(histogram: HdrHistogram) -> float | None:
    return float(histogram.get_max_value()) / 1000 if histogram.get_total_count() else None


class Recorder:
    """Histograms by series and second; drainable (a worker's increment) and mergeable (the master)."""

    def __init__(self) -> None:
        self._series: dict[str, dict[int, HdrHistogram]] = {}

    def record(self, series: str, ms: float, now: float | None = None) -> None:
        second = int(time.time() if now is None else now)
        seconds = self._series.setdefault(series, {})
        if second not in seconds:
            seconds[second] = new_histogram()
        seconds[second].record_value(to_us(ms))

    def encode(self) -> Encoded:
        return {
            series: {str(second): h.encode().decode() for second, h in sorted(seconds.items())}
            for series, seconds in self._series.items()
        }

    def drain(self) -> Encoded:
        """Everything recorded since the last drain, encoded, then forgotten (a worker's report to its master)."""
        data = self.encode()
        self._series = {}
        return data

    def merge(self, data: Mapping[str, Mapping[str, str]]) -> None:
        """Add an `encode()`/`drain()` result (from a worker) into this recorder."""
        for series, seconds in data.items():
            mine = self._series.setdefault(series, {})
            for second, encoded in seconds.items():
                mine.setdefault(int(second), new_histogram()).add(decode(encoded))


def series_total(data: Mapping[str, Mapping[str, str]], series: str) -> HdrHistogram:
    """One series' histogram over the whole run, from an encoded recorder."""
    return merged(decode(encoded) for encoded in data.get(series, {}).values())


def summary(histogram: HdrHistogram) -> dict[str, float | int | None]:
    """The figures a cell keeps of one histogram."""
    return {
        "count": histogram.get_total_count(),
        "p50_ms": percentile_ms(histogram, 50),
        "p95_ms": percentile_ms(histogram, 95),
        "p99_ms": percentile_ms(histogram, 99),
        "p999_ms": percentile_ms(histogram, 99.9),
        "max_ms": max_ms(histogram),
    }
