"""A cell's measures of the session's own life (issue 23), each beside its theory (theory/session_life.py) or
"not modelled", as the record's `session` group and its verdicts.

In results.json every cell has the issue's measures: `session_kb`, `wire_bytes_per_request`,
`store_bytes_per_session`, `expired_while_active`, `moved_after_idle`, `store_writes_per_request`,
`evicted_sessions`, `logins_refused`, `forced_relogins`, `revocation_ms`; `session_theory` says, per measure, what
theory expects and why; `<measure>_agrees` is its verdict (None: not judged). A measure the run could not take (a
node without the session counters) is None, and so is its verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from loadtest.compare.record.model import CellRecord, Verdict
from loadtest.compare.spec import CellSpec
from loadtest.compare.theory import session_life as S
from loadtest.users import session_life as L
from loadtest.users import tally as T
from nodes.contract.names import COOKIE, MEMORY, REDIS, SAVE_ON_CHANGE, STICKY

MEASURES = ("session_kb", "wire_bytes_per_request", "store_bytes_per_session", "expired_while_active",
            "moved_after_idle", "store_writes_per_request", "evicted_sessions", "logins_refused", "forced_relogins",
            "revocation_ms")  # fmt: skip
WRITE_METHODS = ("POST", "DELETE", "PUT", "PATCH")


def _ratio(top: float | None, bottom: float | None, digits: int = 3) -> float | None:
    return round(top / bottom, digits) if top is not None and bottom else None


def _total(totals: Mapping[str, int], measure: str) -> int:
    return T.measure_total(totals, measure)


def knob_fields(spec: CellSpec) -> dict[str, Any]:
    """The cell's session knobs as the processes ran them (lifetimes scaled; None: the nodes' default)."""
    knobs = spec.session
    return {
        "time_scale": knobs.time_scale,
        "session_ttl_s": S.ttl_s(knobs),
        "sticky_ttl_s": None if knobs.sticky_ttl is None else knobs.scaled(knobs.sticky_ttl),
        "session_touch": S.touch_policy(knobs, spec.store),
        "session_save": knobs.save or SAVE_ON_CHANGE,
        "redis_eviction": knobs.redis_eviction,
        "schema_compat": knobs.schema_compat,
        "cookie_denylist": knobs.cookie_denylist,
    }


def store_evicts(spec: CellSpec) -> bool:
    """A Redis store with an evicting maxmemory-policy (store-full's LRU cells)."""
    return spec.store == REDIS and spec.session.redis_eviction not in (None, "noeviction")


def pinned_kinds(routing: str) -> tuple[str, ...]:
    """The user kinds the routing keeps on one node (sticky: browsers, by their cookie); spread routings: all."""
    return ("browser",) if routing == STICKY else ("browser", "app")


def write_share(stats: Mapping[str, Any], served: int | None, more_logins: int = 0) -> tuple[float, float]:
    """(share of requests that change a session, share that are logins), from locust's entries and the logins
    made outside locust (`more_logins`: store-full's filler), of the `served` requests the nodes counted."""
    entries = [e for e in stats.get("entries", []) if e.get("method") != "SESSION"]
    total = served or sum(int(e.get("num_requests", 0)) for e in entries) + more_logins or 1
    logins = sum(int(e.get("num_requests", 0)) for e in entries if str(e.get("name", "")).startswith("/login"))
    writes = sum(int(e.get("num_requests", 0)) for e in entries if e.get("method") in WRITE_METHODS)
    return (writes - logins) / total, (logins + more_logins) / total


def measure(spec: CellSpec, record: CellRecord, stats: Mapping[str, Any], observed: Mapping[str, Any],
            own: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, S.Bounds]]:  # fmt: skip
    """The measures (results.json fields) and the theory of each, from the run's tally, what `session_run`
    observed after the load (`observed`) and what the scenario measured itself (`own`)."""
    totals = T.sum_counts(stats.get("per_second", {}).values())
    knobs, counters = spec.session, observed.get("node_counters", {})
    data = record.to_json()
    gaps = {kind: totals.get(T.key(L.IDLE_GAPS, kind), 0) for kind in ("browser", "app")}
    moved = {kind: totals.get(T.key(L.MOVED_AFTER_IDLE, kind), 0) for kind in ("browser", "app")}
    refused = T.labels(totals, L.REFUSED)
    placement_safe = float(data.get("expected_misses") or 0.0) < S.PLACEMENT_MISSES
    writes = None if not counters else counters.get("store_writes", 0) + counters.get("store_touches", 0)
    per_write = _ratio(counters.get("store_bytes_written"), counters.get("store_writes"), 0) if counters else None
    logins_refused = _total(totals, L.LOGINS_REFUSED) + int(own.get("filler_logins_refused", 0))
    figures: dict[str, Any] = {
        **knob_fields(spec),
        "session_kb": knobs.session_kb,
        "idle_gap_s": knobs.gap_s,
        "cluster_cpu_ms_per_request": _ratio(1000 * data["cluster_cpu_s"], data.get("requests"))
        if data.get("cluster_cpu_s") is not None
        else None,  # fmt: skip
        "wire_bytes_per_request": _ratio(_total(totals, L.WIRE_BYTES), _total(totals, L.WIRE_REQUESTS), 0),
        "store_bytes_per_session": per_write if per_write is not None else observed.get("redis_bytes_per_session"),
        "idle_gaps": sum(gaps.values()),
        "expired_after_idle": _total(totals, L.EXPIRED_AFTER_IDLE),
        "misses_while_active": _total(totals, L.ACTIVE_MISSES),  # misses of users who had not just paused
        # ... which are expiries only where the routing and store lose no session by placement
        "expired_while_active": _total(totals, L.ACTIVE_MISSES) if placement_safe else None,
        "moved_after_idle": sum(moved[kind] for kind in pinned_kinds(spec.routing)),
        "moved_after_idle_by_kind": moved,
        "store_writes_per_request": _ratio(writes, counters.get("requests")) if counters else None,
        "store_touches": counters.get("store_touches") if counters else None,
        "refused_413": refused.get("413", 0),
        "refused_503": refused.get("503", 0),
        "http_500": int(data.get("errors_by_status", {}).get("500", 0)),
        "evicted_sessions": observed.get("redis_evicted_keys") if spec.store == REDIS else 0,
        "logins_refused": logins_refused,
        "forced_relogins": data.get("relogins") if knobs.schema_compat else None,
        "revocation_ms": observed.get("revocation_ms"),
        **{key: value for key, value in observed.items() if key != "revocation_ms"},
    }
    return figures, theories(spec, data, figures, stats, gaps, own)


def theories(spec: CellSpec, data: Mapping[str, Any], figures: Mapping[str, Any], stats: Mapping[str, Any],
             gaps: Mapping[str, int], own: Mapping[str, Any]) -> dict[str, S.Bounds]:  # fmt: skip
    """Each measure's theory for this cell (those without one: not modelled, with the reason)."""
    knobs, store = spec.session, spec.store
    attempts = int(data.get("logins", 0)) + int(figures["refused_413"])  # a refused login is not counted as one
    served = (figures.get("node_counters") or {}).get("requests")
    changing, logins = write_share(stats, int(served) if served else None, int(own.get("filler_logins", 0)))
    theory: dict[str, S.Bounds] = {
        "session_kb": S.cookie_refused(knobs, store, attempts),
        "wire_bytes_per_request": S.not_modelled("measured: headers, body and the session reference per answer"),
        "store_bytes_per_session": S.not_modelled("measured: bytes of a session as the store writes it"),
        "expired_while_active": S.expired_while_active(knobs, store, float(data.get("expected_misses") or 0.0)),
        "expired_after_idle": S.expired_after_idle(knobs, store, sum(gaps.values())),
        "moved_after_idle": S.moved_after_idle(knobs, spec.routing, "browser", spec.nodes, gaps.get("browser", 0)),
        "store_writes_per_request": S.store_writes_per_request(knobs, store, changing, logins)
        if spec.scenario != "concurrent"
        else S.not_modelled("parallel writes on one session conflict and are re-applied: more writes than requests"),
        "evicted_sessions": S.evicted(knobs.redis_eviction, store)
        if knobs.redis_eviction
        else S.Bounds(0, 0, "no maxmemory: Redis evicts nothing")
        if store == REDIS
        else S.Bounds(0, 0, f"the {store} store keeps no session in Redis"),  # fmt: skip
        "logins_refused": S.logins_refused(knobs.redis_eviction, store)
        if knobs.redis_eviction
        else S.not_modelled("no maxmemory in this cell: a 503 to a login is a store outage, the error theory's"),
        "forced_relogins": S.forced_relogins(knobs.schema_compat, store, int(own.get("users_before_deploy", 0)))
        if knobs.schema_compat
        else S.not_modelled("no schema change in this scenario"),  # fmt: skip
        "revocation_ms": S.revocation(store, denylist=knobs.cookie_denylist),
    }
    if store == MEMORY and knobs.gap_s > 0:  # a lapsed sticky cookie moves a memory user to a node without its session
        theory["expired_after_idle"] = S.not_modelled("a memory user moved by the pause misses too")
    touches = S.lazy_touches(knobs, store, int(data.get("logins", 0)), float(data.get("elapsed_s", 0)))
    if touches.judged and store in (MEMORY, REDIS, COOKIE):
        theory["store_touches"] = touches
    if "schema_unreadable" in own:
        theory["schema_unreadable"] = (
            S.schema_unreadable(int(own.get("schema_probed", 0)))
            if store != MEMORY
            else S.not_modelled("a memory session lives on the node that wrote it: no other node reads it, any version")
        )
    return theory


def judged_value(name: str, figures: Mapping[str, Any]) -> Any:
    """The figure a theory judges: revocation by the nodes still serving the session, the rest by their own value."""
    if name == "revocation_ms":
        by_node = figures.get("revocation_ms_by_node") or {}
        return sum(1 for value in by_node.values() if value is None) if by_node else None
    if name == "session_kb":
        return figures.get("refused_413")
    return figures.get(name)


def idle_misses_apart(record: CellRecord, after_idle: int, bounds: S.Bounds) -> CellRecord:
    """The miss rate judged without the misses right after an idle gap, when the idle-gap theory judges those: an
    expiry the lifetimes predict is not a placement miss (the routing x store theory knows nothing of pauses)."""
    if not after_idle or not bounds.judged:
        return record
    verdict = record.misses
    rate = (verdict.misses - after_idle) / verdict.session_requests if verdict.session_requests else 0.0
    agrees = abs(rate - verdict.expected_miss_rate) <= verdict.tolerance + 1e-12
    note = (f" The {after_idle} misses right after an idle gap are judged apart, by the idle-gap theory "
            f"(expired_after_idle); the other misses' rate is {rate:.2%}.")  # fmt: skip
    return record.rejudged_misses(replace(verdict, miss_agrees_with_theory=agrees, theory=verdict.theory + note))


def misses_within_evictions(record: CellRecord, evicted: int | None, idle_lost: int) -> CellRecord:
    """An LRU-evicting Redis: the active users' misses judged against Redis' own count, since each is an eviction
    it counted beside the idle users' (misses <= evicted keys - idle users' sessions lost); how many of the
    evictions hit active users depends on the machine's pace, which no theory here times."""
    if evicted is None:
        return record
    room = evicted - idle_lost
    agrees = record.misses.misses <= room
    note = (f" Past maxmemory an LRU policy may evict an active user's session too: judged as misses <= Redis' "
            f"{evicted} evictions less the {idle_lost} idle users' sessions lost ({room}).")  # fmt: skip
    n = record.misses.session_requests
    half = max(room, 0) / n / 2 if n else 0.0  # the bound [0, room] as the table shows a theory: its middle +- half
    misses = replace(record.misses, miss_agrees_with_theory=agrees, theory=record.misses.theory + note,
                     expected_misses=max(room, 0) / 2, expected_miss_rate=half, tolerance=half)  # fmt: skip
    return record.rejudged_misses(misses)


def add(record: CellRecord, spec: CellSpec, stats: Mapping[str, Any], observed: Mapping[str, Any],
        own: Mapping[str, Any]) -> CellRecord:  # fmt: skip
    """The record with its `session` group and one verdict per judged measure; 500s are judged everywhere."""
    judged = dict(own.get("judged", {}))
    own = {key: value for key, value in own.items() if key != "judged"}
    figures, theory = measure(spec, record, stats, observed, own)
    figures |= {key: value for key, value in own.items() if key not in figures}
    figures["session_theory"] = {name: bounds.text for name, bounds in theory.items()}
    record = idle_misses_apart(record.with_measures("session", figures), figures["expired_after_idle"],
                               theory["expired_after_idle"])  # fmt: skip
    if store_evicts(spec):
        record = misses_within_evictions(record, figures.get("evicted_sessions"),
                                         int(figures.get("filler_sessions_lost") or 0))  # fmt: skip
    for name, bounds in theory.items():
        if bounds.judged:
            record = record.judged(Verdict(f"{name}_agrees", name.replace("_", " "),
                                           bounds.agrees(judged_value(name, figures))))  # fmt: skip
    for key, (name, agrees) in judged.items():  # the scenario's own verdicts (store-full's lost sessions)
        record = record.judged(Verdict(key, name, agrees))
    server_errors = figures["http_500"] + int(figures.get("rollback_500s") or 0)
    return record.judged(Verdict("no_500_agrees", "500s", server_errors == 0))
