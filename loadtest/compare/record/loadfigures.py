"""A cell's load-model figures: open or closed loop, the rate achieved, late starts, exact latency percentiles.

From what the locustfile wrote: its `open_loop` settings, its tally (scheduled, queued and late starts per
second) and its encoded HDR histograms (loadtest/users/hdr.py). The generator is flagged as behind when it could
not keep the requested rate (achieved < KEPT_RATE of it, with more late starts than queued ones) or when more
than LATE_BUDGET of its requests started late (see loadtest/users/schedule.py: a late start is the generator's
own delay of more than 5 ms). A rate missed with mostly queued starts is the system's doing: each user sends in
order, so slow answers hold its next requests back (`rate_short_by: "system"`).
Pure functions, no locust import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadtest.users import hdr
from loadtest.users import tally as T
from loadtest.users.schedule import LATE_START_MS, LATE_STARTS, MISSED, QUEUED_STARTS, SCHEDULED

KEPT_RATE = 0.95  # an achieved rate below 95% of the request: the generator could not keep it
LATE_BUDGET = 0.01  # more than 1% late starts: the generator's own delays show in the latency


def latency_fields(data: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """Exact percentiles: latency (the headline), service time, and the generator's start lag."""
    latency = hdr.summary(hdr.series_total(data, hdr.LATENCY))
    service = hdr.summary(hdr.series_total(data, hdr.SERVICE))
    lag = hdr.summary(hdr.series_total(data, hdr.START_LAG))
    return {
        "latency_source": "hdr",
        "p50_ms": latency["p50_ms"],
        "p95_ms": latency["p95_ms"],
        "p99_ms": latency["p99_ms"],
        "p999_ms": latency["p999_ms"],
        "max_ms": latency["max_ms"],
        "service_p50_ms": service["p50_ms"],
        "service_p99_ms": service["p99_ms"],
        "start_lag_p50_ms": lag["p50_ms"],
        "start_lag_p99_ms": lag["p99_ms"],
    }


def load_model_fields(stats: Mapping[str, Any]) -> dict[str, Any]:
    """`load_model` and, in open loop, the rate asked and achieved, late and queued starts, and the flag."""
    settings = stats.get("open_loop") or {}
    rate = float(settings.get("arrival_rate") or 0.0)
    if rate <= 0:
        return {"load_model": "closed", "arrival_rate": None}
    totals = T.sum_counts(stats.get("per_second", {}).values())
    scheduled = T.measure_total(totals, SCHEDULED)
    late = T.measure_total(totals, LATE_STARTS)
    missed = T.measure_total(totals, MISSED)
    due = scheduled + missed
    achieved = round(rate * scheduled / due, 1) if due else 0.0
    late_rate = late / scheduled if scheduled else 0.0
    queued = T.measure_total(totals, QUEUED_STARTS)
    short_by = None if achieved >= KEPT_RATE * rate else ("generator" if late >= queued else "system")
    reasons = []
    if short_by == "generator":
        reasons.append(f"achieved {achieved:g} of {rate:g} requests/s")
    if late_rate > LATE_BUDGET:
        reasons.append(f"{late_rate:.1%} of requests started over {LATE_START_MS:g} ms late")
    return {
        "load_model": "open",
        "arrival_rate": rate,
        "poisson": bool(settings.get("poisson")),
        "achieved_rps": achieved,
        "scheduled_requests": scheduled,
        "missed_starts": missed,  # intended before the end, never sent: achieved = rate x sent / (sent + missed)
        "late_starts": late,
        "late_start_rate": round(late_rate, 4),
        "queued_starts": queued,
        "rate_kept": short_by is None,
        "rate_short_by": short_by,  # generator: mostly late starts; system: users waited for slow answers
        "generator_kept_rate": short_by != "generator",
        "generator_behind": bool(reasons),
        "generator_note": "; ".join(reasons) or None,
    }


def latency_by_second(data: Mapping[str, Mapping[str, str]], start: float) -> dict[float, dict[str, Any]]:
    """p50/p99 of the answers completed in each second, keyed like the timeline rows (`t` since the start)."""
    rows = {}
    for second, encoded in data.get(hdr.LATENCY, {}).items():
        histogram = hdr.decode(encoded)
        rows[round(int(second) - start, 3)] = {
            "p50_ms": hdr.percentile_ms(histogram, 50),
            "p99_ms": hdr.percentile_ms(histogram, 99),
            "answered": histogram.get_total_count(),
        }
    return rows


def with_latency(rows: list[dict[str, Any]], stats: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Timeline rows with their second's p50/p99 (None where nothing was answered)."""
    start = float(stats.get("test_start") or 0.0)
    by_second = latency_by_second(stats.get("hdr") or {}, start)
    empty = {"p50_ms": None, "p99_ms": None, "answered": 0}
    return [{**row, **by_second.get(row["t"], empty)} for row in rows]


def cell_fields(stats: Mapping[str, Any]) -> dict[str, Any]:
    """Everything this module adds to a cell (latency figures only when the run recorded histograms)."""
    fields = load_model_fields(stats)
    if stats.get("hdr"):
        fields.update(latency_fields(stats["hdr"]))
    return fields
