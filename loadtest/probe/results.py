"""results.json of a probe run: the figures, the timelines with their events, theory when the target is the lab.

Everything is computed from the run's `Recording` (the lab's Tally and HDR Recorder); `--fail-on` thresholds
are verdicts in a list, read from the same figures the file holds.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

from loadtest.compare.theory.expect import expect
from loadtest.compare.theory.model import Exposure
from loadtest.probe.options import ProbeOptions
from loadtest.probe.record import ALL, LATE, REPINS, THROTTLED, Recording
from loadtest.probe.target import LabCluster
from loadtest.users import hdr
from loadtest.users import tally as T
from loadtest.users.schedule import MISSED
from nodes.contract.names import REPLICATED_STORE


def build(
    options: ProbeOptions, recording: Recording, lab: LabCluster | None, healthy_after: int | None, argv: list[str]
) -> dict[str, Any]:
    """The whole results document (thresholds included)."""
    totals = recording.tally.totals()
    requests, misses = T.measure_total(totals, T.SESSION_REQUESTS), T.measure_total(totals, T.MISSES)
    served = T.labels(totals, T.NODE)
    latency = hdr.summary(hdr.series_total(recording.latency.encode(), hdr.LATENCY))
    errors = {split: dict(sorted(counts.items())) for split, counts in recording.errors.items()}
    error_count = sum(sum(c.values()) for c in recording.errors.values())
    results: dict[str, Any] = {
        "meta": _meta(options, recording, argv),
        "session_requests": requests,
        "misses": misses,
        "miss_rate": misses / requests if requests else None,
        "miss_reasons": T.labels(totals, T.REASON),
        "by_kind": {
            kind: {
                "session_requests": T.labels(totals, T.SESSION_REQUESTS).get(kind, 0),
                "misses": T.labels(totals, T.MISSES).get(kind, 0),
            }
            for kind in sorted(recording.users)
        },  # fmt: skip
        "backends": {node: n / sum(served.values()) for node, n in sorted(served.items())},
        "backend_answers": dict(sorted(served.items())),
        "distinct_nodes_per_session": _distinct(recording),
        "repins": T.measure_total(totals, REPINS),
        "errors": errors,
        "error_count": error_count,
        "error_rate": error_count / (requests + error_count) if requests + error_count else None,
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "latency": latency,
        "late_starts": totals.get(T.key(LATE, ALL), 0),
        "missed_starts": totals.get(T.key(MISSED, ALL), 0),
        "throttled": totals.get(T.key(THROTTLED, ALL), 0),
        "events": _events(recording),
        "timeline": _timeline(recording),
        "logged_out": dict(recording.logouts),
        "theory": _theory(lab, healthy_after, recording, misses / requests if requests else None),
    }
    results["thresholds"] = [
        {"expression": str(t), "value": results[t.metric], "crossed": t.crossed(results[t.metric])}
        for t in options.fail_on
    ]
    return results


def _meta(options: ProbeOptions, recording: Recording, argv: list[str]) -> dict[str, Any]:
    return {
        "command": shlex.join(["sessionlab", "probe", *argv]),
        "target": options.target,
        "started": recording.start,
        "duration_s": options.duration,
        "loop": "open" if options.open_loop else "closed",
        "rate": options.rate or None,
        "max_rate": options.max_rate,
        "rate_capped": options.rate_capped,
        "users": dict(recording.users),
        "backend_id": str(options.backend_id),
        "login": str(options.login),
        "check": str(options.check) if options.check else "the lab nodes' mix (/me, /counter, /cart)",
        "seen": [str(r) for r in options.seen],
        "missed": [str(r) for r in options.missed],
    }


def _distinct(recording: Recording) -> dict[str, Any]:
    counts = Counter(len(track.backends) for track in recording.ended)
    sessions = sum(counts.values())
    return {
        "sessions": sessions,
        "histogram": {str(n): counts[n] for n in sorted(counts)},
        "mean": sum(n * c for n, c in counts.items()) / sessions if sessions else None,
        "max": max(counts) if counts else None,
        "sessions_repinned": sum(1 for track in recording.ended if track.repins),
    }


def _events(recording: Recording) -> list[dict[str, Any]]:
    return [
        {
            "at_s": round(mark.at - recording.start, 3),
            "label": mark.label,
            "source": mark.source,
            **({"exit_status": recording.event_results.get(i)} if mark.source == "event" else {}),
        }
        for i, mark in enumerate(recording.marks)
    ]


def _timeline(recording: Recording) -> list[dict[str, Any]]:
    """One row per second of the run: session requests, misses, re-pins, errors and answers per backend."""
    rows = []
    for second, counts in recording.tally.to_dict().items():
        rows.append({
            "t": int(second) - int(recording.start),
            "session_requests": T.measure_total(counts, T.SESSION_REQUESTS),
            "misses": T.measure_total(counts, T.MISSES),
            "repins": T.measure_total(counts, REPINS),
            "errors": T.measure_total(counts, T.ERRORS),
            "backends": T.labels(counts, T.NODE),
        })  # fmt: skip
    return rows


def _theory(
    lab: LabCluster | None, healthy_after: int | None, recording: Recording, measured: float | None
) -> dict[str, Any] | None:
    """compare's expectation for the lab's own cluster (None for any other target, or the replicated store)."""
    if lab is None or lab.store == REPLICATED_STORE or measured is None:
        return None
    killed = healthy_after is not None and healthy_after < lab.nodes
    split = int(min((m.at for m in recording.marks), default=float("inf"))) if killed else None
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for second, counts in recording.tally.to_dict().items():
        side = after if split is not None and int(second) >= split else before
        side.update(T.labels(counts, T.SESSION_REQUESTS))
    exposure = Exposure(lab.nodes, dict(recording.users), dict(before), dict(after), killed=killed)
    expectation = expect(lab.routing, lab.store, exposure)
    return {
        "routing": lab.routing,
        "store": lab.store,
        "nodes": lab.nodes,
        "killed": killed,
        "expected_miss_rate": expectation.rate,
        "tolerance": expectation.tolerance(killed),
        "agrees": expectation.agrees(measured, killed),
        "explanation": expectation.explanation,
    }


def crossed(results: dict[str, Any]) -> list[str]:
    return [t["expression"] for t in results["thresholds"] if t["crossed"]]


def write(out: Path, results: dict[str, Any]) -> Path:
    path = out / "results.json"
    path.write_text(json.dumps(results, indent=2))
    return path
