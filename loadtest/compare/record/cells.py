"""One matrix cell's result: the locust run's counts turned into its typed record (record/model.py).

Input is what the locustfile wrote (`--sessionlab-stats`: per-second tally plus locust's final entries)
and what the runner knows (the cell, when it killed which node). Latency comes from the tally's own
histogram of HTTP answers, so SESSION events (misses, lost updates; response time 0) never dilute it;
errors are locust's failures outside the SESSION rows. Pure functions, no locust import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from loadtest.compare.record import balancer_fields, loadfigures
from loadtest.compare.record.longlived import long_lived_fields
from loadtest.compare.record.model import (
    CellRecord,
    ErrorVerdict,
    FailedCell,
    Identity,
    KillRecord,
    LoadSources,
    MissVerdict,
    Sessions,
    Traffic,
    Verdict,
)
from loadtest.compare.scenarios import scenario_for
from loadtest.compare.scenarios.base import RunTimeline
from loadtest.compare.spec import CellSpec, Kill
from loadtest.compare.theory.model import KINDS, Exposure
from loadtest.compare.theory.placement import expect_placement
from loadtest.users import tally as T

if TYPE_CHECKING:
    from loadtest.compare.scenarios.base import ErrorTheory
    from loadtest.compare.theory.model import Expectation

MISS_TYPE = "SESSION"  # request_type of the locustfile's miss and lost-update events


def http_entries(entries: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in entries if e.get("method") != MISS_TYPE]


def elapsed(stats: Mapping[str, Any]) -> float:
    start, stop = stats.get("test_start"), stats.get("test_stop") or stats.get("written")
    return max(float(stop) - float(start), 1e-9) if start and stop else 0.0


def timeline(per_second: Mapping[str, Mapping[str, int]], start: float) -> list[dict[str, Any]]:
    """One row per second since the load started: session requests, misses, errors, per kind and node."""
    rows = []
    for second, counts in sorted(per_second.items(), key=lambda item: int(item[0])):
        rows.append(
            {
                "t": round(int(second) - start, 3),  # this row covers [t, t + 1) seconds after the start
                "session_requests": T.measure_total(counts, T.SESSION_REQUESTS),
                "misses": T.measure_total(counts, T.MISSES),
                "errors": T.measure_total(counts, T.ERRORS),
                "by_kind": {
                    kind: [counts.get(T.key(T.SESSION_REQUESTS, kind), 0), counts.get(T.key(T.MISSES, kind), 0)]
                    for kind in KINDS
                },
                "nodes": T.labels(counts, T.NODE),
            }
        )
    return rows


def split_at_kill(rows: list[dict[str, Any]], kill_at: float | None) -> tuple[dict[str, int], dict[str, int]]:
    """Session requests per kind before and after the kill (the kill's own second is shared pro rata)."""
    before = dict.fromkeys(KINDS, 0.0)
    after = dict.fromkeys(KINDS, 0.0)
    for row in rows:
        share_after = 0.0 if kill_at is None else min(max(row["t"] + 1 - kill_at, 0.0), 1.0)
        for kind, (requests, _) in row["by_kind"].items():
            before[kind] = before.get(kind, 0.0) + requests * (1 - share_after)
            after[kind] = after.get(kind, 0.0) + requests * share_after
    return {k: round(v) for k, v in before.items()}, {k: round(v) for k, v in after.items()}


def node_share(totals: Mapping[str, int]) -> dict[str, float]:
    """Fraction of node-served requests per node id (answers without a node id, e.g. a 502, left out)."""
    served = {node: n for node, n in T.labels(totals, T.NODE).items() if not node.startswith("(")}
    total = sum(served.values())
    return {node: n / total for node, n in sorted(served.items())} if total else {}


def build_cell(
    spec: CellSpec,
    stats: Mapping[str, Any],
    kill: Kill | None = None,
    events: Sequence[Mapping[str, Any]] = (),
    replication: Mapping[str, Any] | None = None,
    theory_routing: str | None = None,
) -> CellRecord:
    """The record of one cell; `events` are the timeline's records, `kill` the one that split it, `replication`
    the replicated store's counters summed over the nodes (messages, bytes, lag), `theory_routing` the routing
    whose theory describes the balancer's mechanism where it differs from the cell's."""
    scenario = scenario_for(spec.scenario)
    start = float(stats.get("test_start") or 0.0)
    totals = T.sum_counts(stats.get("per_second", {}).values())
    rows = timeline(stats.get("per_second", {}), start)
    before, after = split_at_kill(rows, kill.at_s if kill else None)
    users = {kind: totals.get(T.key(T.USERS, kind), 0) for kind in KINDS}
    lag_ms = float(replication.get("lag_ms_typical", 0.0)) if replication else 0.0
    exposure = Exposure(spec.nodes, users, before, after if kill else {}, killed=kill is not None, lag_ms=lag_ms)
    own = scenario.record(spec, totals)
    judged = replace(spec, routing=theory_routing) if theory_routing else spec  # the mechanism's own theory
    whole = scenario.timeline_theory(judged, RunTimeline(rows, events, users))
    simulated = None if whole else expect_placement(judged, exposure, stats, kill)  # spread placements, replayed
    expectation = whole[0] if whole else simulated if simulated is not None else scenario.theory(judged, exposure)
    own = {**own, **(whole[1] if whole else {})}
    changed = kill is not None or whole is not None  # theory of a disturbed run: the wider floor
    misses = miss_theory(expectation, totals, killed=changed)
    errors = error_theory(scenario.error_theory(spec), stats, totals)
    verdicts = [Verdict("miss_agrees_with_theory", "miss rate", misses.miss_agrees_with_theory)]
    if whole:  # membership changes are judged on failed requests too: drained changes must fail (almost) none
        verdicts.append(Verdict("errors_agree_with_theory", "errors", errors.errors_agree_with_theory))
    verdicts += [Verdict(key, measure, own.get(key)) for key, measure in scenario.judged.items()]
    return CellRecord(
        identity=identity(spec),
        load=load_sources(spec, stats, totals),
        traffic=traffic(stats, totals),
        misses=misses,
        errors=errors,
        sessions=Sessions(
            logins=T.measure_total(totals, T.LOGINS),
            relogins=T.measure_total(totals, T.RELOGINS),
            node_share=node_share(totals),
            node_requests=T.labels(totals, T.NODE),
            by_kind={kind: _kind_summary(totals, kind, before, after) for kind in KINDS},
            miss_reasons=T.labels(totals, T.REASON),
        ),
        kill=kill_record(kill),
        verdicts=tuple(verdicts),
        events=tuple(dict(record) for record in events),
        timeline=tuple(loadfigures.with_latency(rows, stats)),
        measures={
            "balancer": {
                **balancer_fields.identity(spec),
                **balancer_fields.measures(stats, totals, events, rows, spec.nodes),
            },  # fmt: skip
            "replication": {"replication_traffic": dict(replication)} if replication else {},
            "scenario": {key: value for key, value in own.items() if key not in scenario.judged},
            "load model": loadfigures.cell_fields(stats),
            "long-lived": (
                long_lived_fields(stats.get("per_second", {}), start, events, spec) if spec.long_lived > 0 else {}
            ),
        },
    )


def identity(spec: CellSpec) -> Identity:
    return balancer_fields.identity_of(spec)


def traffic(stats: Mapping[str, Any], totals: Mapping[str, int]) -> Traffic:
    """Requests, throughput and latency of the HTTP answers (SESSION rows left out)."""
    entries = http_entries(stats.get("entries", []))
    requests = sum(int(e.get("num_requests", 0)) for e in entries)
    seconds = elapsed(stats)
    latency = T.labels(totals, T.LATENCY)
    return Traffic(
        elapsed_s=round(seconds, 3),
        requests=requests,
        rps=round(requests / seconds, 1) if seconds else 0.0,
        p50_ms=T.percentile(latency, 0.50),
        p95_ms=T.percentile(latency, 0.95),
        p99_ms=T.percentile(latency, 0.99),
        max_ms=max((float(v) for v in latency), default=None),
    )


def miss_theory(expectation: Expectation, totals: Mapping[str, int], *, killed: bool) -> MissVerdict:
    """Measured misses against the scenario's theory."""
    session_requests = T.measure_total(totals, T.SESSION_REQUESTS)
    misses = T.measure_total(totals, T.MISSES)
    miss_rate = misses / session_requests if session_requests else 0.0
    return MissVerdict(
        session_requests=session_requests,
        misses=misses,
        miss_rate=miss_rate,
        expected_misses=round(expectation.misses, 2),
        expected_miss_rate=expectation.rate,
        expected_rate_before_kill=expectation.rate_before,
        expected_rate_after_kill=expectation.rate_after,
        tolerance=expectation.tolerance(killed=killed),
        miss_agrees_with_theory=expectation.agrees(miss_rate, killed=killed),
        theory=expectation.explanation,
    )


def error_theory(theory: ErrorTheory, stats: Mapping[str, Any], totals: Mapping[str, int]) -> ErrorVerdict:
    """Failed requests, by status ("connection" when nothing answered), and what the scenario expected."""
    entries = http_entries(stats.get("entries", []))
    requests = sum(int(e.get("num_requests", 0)) for e in entries)
    errors = sum(int(e.get("num_failures", 0)) for e in entries)
    return ErrorVerdict(
        errors=errors,
        error_rate=errors / requests if requests else 0.0,
        errors_by_status=errors_by_status(totals),
        expected_errors=theory.expected,
        errors_allowed=theory.allowed(requests) if theory.expected is not None else None,
        errors_agree_with_theory=theory.agrees(errors, requests),
        error_theory=theory.explanation,
    )


def errors_by_status(totals: Mapping[str, int]) -> dict[str, int]:
    """`{"502": 3, "connection": 1}`: status 0 means the request got no HTTP answer at all."""
    counts: dict[str, int] = {}
    for status, n in T.labels(totals, T.STATUS).items():
        label = "connection" if status == "0" else status
        counts[label] = counts.get(label, 0) + n
    return dict(sorted(counts.items()))


def kill_record(kill: Kill | None) -> KillRecord:
    if kill is None:
        return KillRecord()
    ejected = round(kill.ejected_at_s, 3) if kill.ejected_at_s is not None else None
    return KillRecord(kill.node, round(kill.at_s, 3), ejected)


def load_sources(spec: CellSpec, stats: Mapping[str, Any], totals: Mapping[str, int]) -> LoadSources:
    """How many locust workers produced the load: the master's count, and the processes whose requests arrived."""
    by_process = T.labels(totals, T.PROCESS)
    return LoadSources(int(stats.get("workers") or 0), spec.workers, len(by_process), by_process)


def _kind_summary(
    totals: Mapping[str, int], kind: str, before: Mapping[str, int], after: Mapping[str, int]
) -> dict[str, Any]:
    checked = totals.get(T.key(T.SESSION_REQUESTS, kind), 0)
    missed = totals.get(T.key(T.MISSES, kind), 0)
    return {
        "users": totals.get(T.key(T.USERS, kind), 0),
        "session_requests": checked,
        "misses": missed,
        "miss_rate": missed / checked if checked else 0.0,
        "relogins": totals.get(T.key(T.RELOGINS, kind), 0),
        "errors": totals.get(T.key(T.ERRORS, kind), 0),
        "session_requests_before_kill": before.get(kind, 0),
        "session_requests_after_kill": after.get(kind, 0),
    }


def failed_cell(spec: CellSpec, reason: str) -> FailedCell:
    """The record of a cell that could not run, so the report still lists it."""
    return FailedCell(identity(spec), spec.workers, reason)
