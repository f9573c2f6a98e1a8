"""--store-latency: what a network hop to Redis should cost each request, and whether the cells agree.

A redis-store request pays its Redis round trips times the added RTT: `GET /me` is one (GETEX reads the session
and slides its TTL); `POST /counter` two (GETEX, then the compare-and-set script — the per-user index upkeep,
when due, rides in the same pipeline and adds no round trip; a write queued behind another write of the same
session on the same node skips the GETEX, which the lab's users, one session each, almost never do). Memory and
cookie requests make none. Each cell with a delay is compared with the 0 ms cell of the same store, routing and
scenario: the p50 difference per request should be round trips x measured RTT, within SLACK_MS (the medians
come from the lab's tally at 2 significant digits, so the slack is the machine's noise, not rounding).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from loadtest.compare.record.model import Cell, CellRecord, Verdict
from loadtest.users import tally as T

ROUND_TRIPS = {"GET /me": 1, "POST /counter": 2}
SLACK_MS = 1.0


def p50_by_request(entries: list[Mapping[str, Any]], totals: Mapping[str, int] | None = None) -> dict[str, float]:
    """The median response time (ms) of each request named in ROUND_TRIPS.

    From the lab's own tally (2 significant digits: 0.1 ms steps at 1-10 ms) where it has the request; else from
    locust's histograms, which round to whole milliseconds below 100 ms, too coarse for a 1-2 ms difference.
    """
    found = {}
    for name in ROUND_TRIPS:
        histogram = T.labels(totals or {}, T.request_latency(*name.split(" ", 1)))
        median = T.percentile(histogram, 0.5) if histogram else None
        if median is not None:
            found[name] = median
    if len(found) == len(ROUND_TRIPS):
        return found
    found = {}
    for entry in entries:
        name = f"{entry.get('method')} {entry.get('name')}"
        times = {str(ms): int(count) for ms, count in (entry.get("response_times") or {}).items()}
        if name in ROUND_TRIPS and (median := T.percentile(times, 0.5)) is not None:
            found[name] = median
    return found


def round_trips(store: str) -> dict[str, int]:
    return ROUND_TRIPS if store == "redis" else dict.fromkeys(ROUND_TRIPS, 0)


def compare_with_baseline(cells: list[Cell]) -> list[Cell]:
    """Each delayed cell judged on its p50 difference to the 0 ms cell against what theory expects of it."""
    ran = [cell.to_json() if isinstance(cell, CellRecord) else None for cell in cells]
    baselines = {_key(c): c for c in ran if c is not None and not c.get("store_latency_ms")}
    judged: list[Cell] = []
    for cell, record in zip(cells, ran, strict=True):
        base = baselines.get(_key(record)) if record is not None else None
        if not isinstance(cell, CellRecord) or record is None or not record.get("store_latency_ms") or base is None:
            judged.append(cell)
            continue
        rtt = (record.get("store_rtt_ms") or record["store_latency_ms"]) if record["store"] == "redis" else 0.0
        checks = {}
        for name, trips in round_trips(record["store"]).items():
            now, before = record.get("p50_ms_by_request", {}).get(name), base.get("p50_ms_by_request", {}).get(name)
            if now is not None and before is not None:
                checks[name] = _check(trips, now - before, trips * rtt)
        agrees = all(c["agrees"] for c in checks.values()) if checks else None
        cell = cell.with_measures("store latency", {"store_latency_check": checks})
        judged.append(cell.judged(Verdict("store_latency_agrees", "store latency", agrees)))
    return judged


def _check(trips: int, added: float, expected: float) -> dict[str, Any]:
    agrees = abs(added - expected) <= SLACK_MS
    return {"round_trips": trips, "p50_added_ms": round(added, 2), "expected_ms": round(expected, 2), "agrees": agrees}


def _key(cell: Mapping[str, Any]) -> tuple[Any, ...]:
    return cell.get("store"), cell.get("routing"), cell.get("scenario"), cell.get("consistency")
