"""One matrix cell's result: the locust run's counts turned into the record results.json keeps.

Input is what the locustfile wrote (`--sessionlab-stats`: per-second tally plus locust's final entries)
and what the runner knows (the cell, when it killed which node). Latency comes from the tally's own
histogram of HTTP answers, so SESSION events (misses, lost updates; response time 0) never dilute it;
errors are locust's failures outside the SESSION rows. Pure functions, no locust import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loadtest.compare import loadfigures
from loadtest.compare.placement_theory import expect_placement
from loadtest.compare.scenarios import scenario_for
from loadtest.compare.scenarios.base import RunTimeline
from loadtest.compare.theory import KINDS, Exposure
from loadtest.users import tally as T
from nodes.contract.names import default_consistency

if TYPE_CHECKING:
    from loadtest.compare.scenarios.base import ErrorTheory
    from loadtest.compare.theory import Expectation

MISS_TYPE = "SESSION"  # request_type of the locustfile's miss and lost-update events
DISAGREES = "DISAGREES WITH THEORY"  # a cell's verdict when a measure falls outside its theory


@dataclass(frozen=True)
class CellSpec:
    """What one cell runs: the choice under test and the load."""

    routing: str
    store: str
    scenario: str
    nodes: int
    users: int
    duration: float
    workers: int = 0
    consistency: str | None = None  # the nodes' SESSION_CONSISTENCY; None = the store's default
    revocation_bound: float = 0.0  # > 0: after the load, measure how long a session outlives logout-all
    arrival_rate: float = 0.0  # > 0: open loop at this many requests/s in total (loadtest/users/schedule.py)
    poisson: bool = False  # open loop with exponential gaps
    user_classes: tuple[str, ...] = ()  # the locustfile's classes to run instead of the scenario's
    store_latency_ms: float = 0.0  # --store-latency: added round trip between the nodes and Redis
    outage: float = 3.0  # --outage: seconds Redis stays down in store-failure
    redis_persistence: str = "none"  # --redis-persistence: none or aof
    replication: str | None = None  # store=replicated: all-sync, all-async, backup-sync, backup-async

    @property
    def store_label(self) -> str:
        """The store as the report names it: `replicated all-sync` for the replicated store."""
        return f"{self.store} {self.replication}" if self.replication else self.store

    drain_seconds: float = 2.0  # membership changes: how long a node drains before it is stopped or removed
    deploy_mode: str = "drain"  # rolling-deploy: "drain" (drain, SIGTERM, restart, ready) or "kill" (SIGKILL, restart)

    @property
    def label(self) -> str:
        mode = f" / {self.consistency}" if self.consistency else ""
        return f"{self.routing} / {self.store_label} / {self.scenario}{mode}{self.store_variant}"

    @property
    def store_variant(self) -> str:
        """How the shared store differs from the default (a hop away, persistent), for labels and folders."""
        latency = f" / +{self.store_latency_ms:g} ms" if self.store_latency_ms else ""
        return latency + (f" / {self.redis_persistence}" if self.redis_persistence != "none" else "")

    @property
    def effective_consistency(self) -> str:
        return self.consistency or default_consistency(self.store)


@dataclass(frozen=True)
class Kill:
    """A node the runner SIGKILLed: which, and when (seconds after the load started)."""

    node: str
    at_s: float
    ejected_at_s: float | None = None  # when the balancer's health check marked it down, if seen


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
) -> dict[str, Any]:
    """The results.json record of one cell; `events` are the timeline's records, `kill` the one that split it,
    `replication` the replicated store's counters summed over the nodes (messages, bytes, lag)."""
    scenario = scenario_for(spec.scenario)
    start = float(stats.get("test_start") or 0.0)
    totals = T.sum_counts(stats.get("per_second", {}).values())
    rows = timeline(stats.get("per_second", {}), start)
    before, after = split_at_kill(rows, kill.at_s if kill else None)
    users = {kind: totals.get(T.key(T.USERS, kind), 0) for kind in KINDS}
    lag_ms = float(replication.get("lag_ms_typical", 0.0)) if replication else 0.0
    exposure = Exposure(spec.nodes, users, before, after if kill else {}, killed=kill is not None, lag_ms=lag_ms)
    extra = scenario.record(spec, totals)
    whole = scenario.timeline_theory(spec, RunTimeline(rows, events, users))
    simulated = None if whole else expect_placement(spec, exposure, stats, kill)
    expectation = whole[0] if whole else simulated if simulated is not None else scenario.theory(spec, exposure)
    extra = {**extra, **(whole[1] if whole else {})}
    changed = kill is not None or whole is not None  # theory of a disturbed run: the wider floor
    cell = {
        **identity(spec),
        **load_sources(spec, stats, totals),
        **traffic(stats, totals),
        **miss_theory(expectation, totals, killed=changed, extra=extra),
        **error_theory(scenario.error_theory(spec), stats, totals),
        "logins": T.measure_total(totals, T.LOGINS),
        "relogins": T.measure_total(totals, T.RELOGINS),
        "node_share": node_share(totals),
        "node_requests": T.labels(totals, T.NODE),
        "by_kind": {kind: _kind_summary(totals, kind, before, after) for kind in KINDS},
        "miss_reasons": T.labels(totals, T.REASON),
        **kill_fields(kill),
        **({"replication_traffic": dict(replication)} if replication else {}),
        **extra,
        "events": [dict(record) for record in events],
        "timeline": loadfigures.with_latency(rows, stats),
    }
    cell = {**cell, **loadfigures.cell_fields(stats)}
    return with_error_verdict(cell) if whole else cell


def with_error_verdict(cell: dict[str, Any]) -> dict[str, Any]:
    """Membership-change cells are judged on failed requests too: drained changes must fail (almost) none."""
    if cell.get("errors_agree_with_theory") is False:
        disagrees(cell)
    return cell


def disagrees(cell: dict[str, Any]) -> None:
    """Judge `cell` as disagreeing with theory, for a measure checked after its miss rate."""
    cell["agrees_with_theory"] = False
    cell["verdict"] = DISAGREES


def identity(spec: CellSpec) -> dict[str, Any]:
    return {
        "routing": spec.routing,
        "store": spec.store,
        "scenario": spec.scenario,
        "consistency": spec.effective_consistency,
        "replication": spec.replication,
        "nodes": spec.nodes,
        "users": spec.users,
        "duration": spec.duration,
    }


def traffic(stats: Mapping[str, Any], totals: Mapping[str, int]) -> dict[str, Any]:
    """Requests, throughput and latency of the HTTP answers (SESSION rows left out)."""
    entries = http_entries(stats.get("entries", []))
    requests = sum(int(e.get("num_requests", 0)) for e in entries)
    seconds = elapsed(stats)
    latency = T.labels(totals, T.LATENCY)
    return {
        "elapsed_s": round(seconds, 3),
        "requests": requests,
        "rps": round(requests / seconds, 1) if seconds else 0.0,
        "p50_ms": T.percentile(latency, 0.50),
        "p95_ms": T.percentile(latency, 0.95),
        "p99_ms": T.percentile(latency, 0.99),
        "max_ms": max((float(v) for v in latency), default=None),
    }


def miss_theory(
    expectation: Expectation, totals: Mapping[str, int], *, killed: bool, extra: Mapping[str, Any]
) -> dict[str, Any]:
    """Measured misses against the scenario's theory; the verdict also needs every `*_agrees` of `extra`."""
    session_requests = T.measure_total(totals, T.SESSION_REQUESTS)
    misses = T.measure_total(totals, T.MISSES)
    miss_rate = misses / session_requests if session_requests else 0.0
    miss_agrees = expectation.agrees(miss_rate, killed=killed)
    agrees = miss_agrees and all(v is not False for k, v in extra.items() if k.endswith("_agrees"))
    return {
        "session_requests": session_requests,
        "misses": misses,
        "miss_rate": miss_rate,
        "expected_misses": round(expectation.misses, 2),
        "expected_miss_rate": expectation.rate,
        "expected_rate_before_kill": expectation.rate_before,
        "expected_rate_after_kill": expectation.rate_after,
        "tolerance": expectation.tolerance(killed=killed),
        "miss_agrees_with_theory": miss_agrees,
        "agrees_with_theory": agrees,
        "verdict": "ok" if agrees else DISAGREES,
        "theory": expectation.explanation,
    }


def error_theory(theory: ErrorTheory, stats: Mapping[str, Any], totals: Mapping[str, int]) -> dict[str, Any]:
    """Failed requests, by status ("connection" when nothing answered), and what the scenario expected."""
    entries = http_entries(stats.get("entries", []))
    requests = sum(int(e.get("num_requests", 0)) for e in entries)
    errors = sum(int(e.get("num_failures", 0)) for e in entries)
    return {
        "errors": errors,
        "error_rate": errors / requests if requests else 0.0,
        "errors_by_status": errors_by_status(totals),
        "expected_errors": theory.expected,
        "errors_allowed": theory.allowed(requests) if theory.expected is not None else None,
        "errors_agree_with_theory": theory.agrees(errors, requests),
        "error_theory": theory.explanation,
    }


def errors_by_status(totals: Mapping[str, int]) -> dict[str, int]:
    """`{"502": 3, "connection": 1}`: status 0 means the request got no HTTP answer at all."""
    counts: dict[str, int] = {}
    for status, n in T.labels(totals, T.STATUS).items():
        label = "connection" if status == "0" else status
        counts[label] = counts.get(label, 0) + n
    return dict(sorted(counts.items()))


def kill_fields(kill: Kill | None) -> dict[str, Any]:
    return {
        "killed_node": kill.node if kill else None,
        "kill_at_s": round(kill.at_s, 3) if kill else None,
        "ejected_at_s": round(kill.ejected_at_s, 3) if kill and kill.ejected_at_s is not None else None,
    }


def load_sources(spec: CellSpec, stats: Mapping[str, Any], totals: Mapping[str, int]) -> dict[str, Any]:
    """How many locust workers produced the load: the master's count, and the processes whose requests arrived."""
    by_process = T.labels(totals, T.PROCESS)
    return {
        "workers": int(stats.get("workers") or 0),  # workers connected to the master (0: one local process)
        "workers_requested": spec.workers,
        "load_processes": len(by_process),  # locust processes that sent requests (the master sends none)
        "requests_by_process": by_process,
    }


def _kind_summary(totals: Mapping[str, int], kind: str, before: Mapping[str, int], after: Mapping[str, int]) -> dict:
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


def failed_cell(spec: CellSpec, reason: str) -> dict[str, Any]:
    """The record of a cell that could not run, so the report still lists it."""
    return {
        "routing": spec.routing,
        "store": spec.store,
        "scenario": spec.scenario,
        "nodes": spec.nodes,
        "consistency": spec.effective_consistency,
        "replication": spec.replication,
        "users": spec.users,
        "workers": 0,
        "workers_requested": spec.workers,
        "duration": spec.duration,
        "verdict": "DID NOT RUN",
        "failure": reason,
        "errors_by_status": {},
        "events": [],
    }
