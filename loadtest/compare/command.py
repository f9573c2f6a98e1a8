"""`sessionlab compare`: the routing x store x scenario matrix, one fresh local cluster per cell, and a report.

For each cell: start the cluster its scenario asks for (`loadtest/compare/scenarios/`), run the locustfile
headless as its own process for a bounded time while the scenario's events are applied on their timeline
(node-failure SIGKILLs a node at the midpoint), read what it counted, then (once per store and routing)
measure how long a session stays usable after /logout-all, and stop everything.
Then write results.json, report.md, report.html and the raw locust CSVs under --out. Every PID started is
appended to <out>/pids.txt, and every one is stopped before this command returns, even on Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from loadtest.compare import fidelity, report, revocation, sweep
from loadtest.compare.cells import CellSpec, build_cell, failed_cell
from loadtest.compare.loadrun import cpu_fields, run_load
from loadtest.compare.options import (  # noqa: F401 - parse_args is the command's API too
    DEFAULT_DURATION,
    DEFAULT_REVOCATION_BOUND,
    DEFAULT_USERS,
    EXIT_DISAGREES,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STARTUP,
    QUICK,
    QUICK_REVOCATION_BOUND,
    default_scenarios,
    parse_args,
)
from loadtest.compare.report.screenshot import write_screenshot
from loadtest.compare.report.table import ms
from loadtest.compare.scenarios import SCENARIOS, Scenario, scenario_for
from loadtest.compare.scenarios.store_actions import measured
from loadtest.compare.scenarios.timeline import run_timeline
from loadtest.compare.store_latency import compare_with_baseline, p50_by_request
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
from loadtest.lab.paths import report_dir
from loadtest.lab.processes import StartupError
from loadtest.lab.replication import DEFAULT_REPLICATION
from loadtest.lab.server_binary import find_server
from loadtest.users import tally as T
from nodes.contract.names import (
    DEFAULT_MAX_AGE,
    ROUTING_MODES,
    STORES,
)


class CellFailed(RuntimeError):
    """A cell ran but cannot be trusted (a process died on its own): recorded, and the matrix goes on."""


@dataclass
class Progress:
    """Progress lines on stdout: cell k of n, time since the start, what is running."""

    total: int
    began: float = field(default_factory=time.monotonic)
    index: int = 0
    label: str = ""

    def say(self, text: str) -> None:
        seconds = int(time.monotonic() - self.began)
        print(f"[{self.index:>2}/{self.total} {seconds // 60:>2}:{seconds % 60:02d}] {text}", flush=True)


class PidLog:
    """Appends "name pid" for every process started, so anyone can check that none survived the run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def __call__(self, name: str, pid: int) -> None:
        with self.path.open("a") as file:
            file.write(f"{name} {pid}\n")


def plan(args: argparse.Namespace) -> list[CellSpec]:
    """The cells to run, in matrix order: per store, routing x the interleaved scenarios, then the others."""
    quick: dict[str, Any] = QUICK if args.quick else {}
    stores = args.store or quick.get("store", STORES)
    chosen = tuple(SCENARIOS) if args.all else args.scenario or quick.get("scenario", default_scenarios())
    scenarios = [scenario_for(name) for name in chosen]
    load = {"users": args.users or quick.get("users", DEFAULT_USERS),
            "duration": args.duration or quick.get("duration", DEFAULT_DURATION), "workers": args.workers,
            "arrival_rate": args.arrival_rate or 0.0, "poisson": args.poisson, "outage": args.outage,
            "redis_persistence": args.redis_persistence, "drain_seconds": args.drain_seconds,
            "deploy_mode": args.deploy_mode}  # fmt: skip
    whole = bool(args.all or args.store or args.routing or args.quick)  # else: each scenario's default cells
    cells = []
    for nodes in args.nodes:
        for store, replication in sweep.stores_with_modes(stores, args.replication):
            at = {**load, "nodes": nodes, "replication": replication}
            for routing in _routings(args, quick, None):
                cells += [_spec(routing, store, s, mode, at) for s in scenarios if s.interleaved
                          and (whole or s.in_default_matrix(store, routing))
                          for mode in s.variants(store, args.consistency)]  # fmt: skip
            for scenario in (s for s in scenarios if not s.interleaved):
                cells += [_spec(routing, store, scenario, mode, at) for routing in _routings(args, quick, scenario)
                          if whole or scenario.in_default_matrix(store, routing)
                          for mode in scenario.variants(store, args.consistency)]  # fmt: skip
    cells = [replace(cell, store_latency_ms=ms) for cell in cells for ms in args.store_latency]
    return with_revocation(cells, _revocation_bound(args))


def _routings(args: argparse.Namespace, quick: dict[str, Any], scenario: Scenario | None) -> tuple[str, ...]:
    """--routing when given, else the scenario's own routings, else the matrix's."""
    own = scenario.default_routings if scenario else None
    return tuple(args.routing or own or quick.get("routing", ROUTING_MODES))


def _spec(routing: str, store: str, scenario: Scenario, mode: str | None, load: dict[str, Any]) -> CellSpec:
    """One cell; open loop only for scenarios that run the ordinary users (bursts keep their own rhythm)."""
    paced = load if scenario.users is None else {**load, "arrival_rate": 0.0, "poisson": False}
    spec = CellSpec(routing, store, scenario.name, consistency=mode, **paced)
    return replace(spec, duration=scenario.duration(spec))


def _revocation_bound(args: argparse.Namespace) -> float:
    if args.revocation_bound is not None:
        return float(args.revocation_bound)
    return QUICK_REVOCATION_BOUND if args.quick else DEFAULT_REVOCATION_BOUND


def with_revocation(cells: list[CellSpec], bound: float) -> list[CellSpec]:
    """Mark the first cell of each store x routing to measure logout-all afterwards (once is enough: it is cheap
    for redis and cookie, and up to `bound` seconds for memory)."""
    if bound <= 0:
        return cells
    seen: set[tuple[str, str]] = set()
    marked = []
    for spec in cells:
        first = (spec.store_label, spec.routing) not in seen
        seen.add((spec.store_label, spec.routing))
        marked.append(replace(spec, revocation_bound=bound) if first else spec)
    return marked


def run_cell(spec: CellSpec, folder: Path, kinds: tuple[str, ...], pids: PidLog, progress: Progress) -> dict[str, Any]:
    """The scenario's cluster, a bounded locust run with the scenario's events on their timeline, stop all."""
    scenario = scenario_for(spec.scenario)
    config = scenario.cluster(ClusterConfig(nodes=spec.nodes, routing=spec.routing, store=spec.store,
                                            log_dir=folder / "logs", consistency=spec.consistency,
                                            store_latency_ms=spec.store_latency_ms,
                                            redis_persistence=spec.redis_persistence,
                                            replication=spec.replication or DEFAULT_REPLICATION))  # fmt: skip
    with LocalCluster(config, on_pid=pids) as cluster:
        pace = f" at {spec.arrival_rate:g} requests/s (open loop)" if spec.arrival_rate else ""
        progress.say(f"{spec.label}: cluster up ({spec.nodes} nodes) in {cluster.started_in:.1f}s; locust "
                     f"{spec.users} users{pace} for {spec.duration:g}s"
                     + (f" on {spec.workers} workers" if spec.workers else ""))  # fmt: skip
        control = ClusterControl(cluster)

        def timeline(start: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            records = run_timeline(scenario.events(spec), control, start, progress.say)
            rtt = cluster.store.added_rtt() if cluster.store is not None else {}  # while the load still runs
            return records, rtt

        load = run_load(cluster, spec, folder, kinds, pids, during=timeline)
        stats, (records, rtt) = load.stats, load.during
        replication = cluster.replication_traffic()  # before logout-all: its writes are not the load's
        revoked = _measure_revocation(spec, cluster.url, progress) if spec.revocation_bound > 0 else {}
        dead = [name for name in cluster.dead_members() if name not in control.taken_down]
        if dead:
            raise CellFailed(f"{', '.join(dead)} died during the run; see {folder / 'logs'}")
    store = {**rtt, **measured(records), "redis_persistence": spec.redis_persistence} if spec.store == "redis" else {}
    totals = T.sum_counts(stats.get("per_second", {}).values())
    store |= {"store_latency_ms": spec.store_latency_ms,
              "p50_ms_by_request": p50_by_request(stats.get("entries", []), totals)}  # fmt: skip
    return {
        **build_cell(spec, stats, scenario.disruption(records), records, replication),
        **store,
        **cpu_fields(load.cpu),
        **revoked,
    }


def _measure_revocation(spec: CellSpec, url: str, progress: Progress) -> dict[str, Any]:
    """After the load: how long the other client's session stays usable once the user logged out everywhere."""
    measured = revocation.measure(
        url, spec.store, bound=spec.revocation_bound, max_age=DEFAULT_MAX_AGE
    )  # the lab leaves SESSION_MAX_AGE at its default
    progress.say(f"  logout-all: {measured['revocation']['explanation']}")
    return measured


def summary_line(cell: dict[str, Any]) -> str:
    flag = "ok" if cell.get("agrees_with_theory") else "<<< DISAGREES WITH THEORY >>>"
    line = (
        f"  miss {cell['miss_rate']:.1%} (theory {cell['expected_miss_rate']:.1%} ±{cell['tolerance']:.1%}) {flag}"
        f" | p50 {ms(cell['p50_ms'])} p95 {ms(cell['p95_ms'])} p99 {ms(cell['p99_ms'])} ms"
        f" | {cell['rps']:.0f} rps | errors {cell['errors']} | relogins {cell['relogins']}"
    )
    if "lost_update_rate" in cell:
        line += (f" | lost updates {cell['increments_lost']} of {cell['increments_acked']}"
                 f" ({report.pct(cell['lost_update_rate'])}), 409s {cell['conflicts_409']}")  # fmt: skip
    if cell.get("workers_requested"):
        line += f" | load from {cell['load_processes']} of {cell['workers_requested']} workers"
    return line + fidelity.summary_suffix(cell)


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM (like Ctrl-C) interrupts the run once; further signals are ignored while everything stops."""

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.capacity or args.cross_check:
        return fidelity.main(args)
    cells_to_run = plan(args)
    out = args.out or report_dir()
    out.mkdir(parents=True, exist_ok=True)
    pids = PidLog(out / "pids.txt")
    progress = Progress(total=len(cells_to_run))
    meta = _meta(args, cells_to_run)
    cells: list[dict[str, Any]] = []
    print(f"sessionlab compare: {len(cells_to_run)} cells, {meta['users']} users x {meta['duration']:g}s each, "
          f"{','.join(map(str, args.nodes))} nodes; writing to {out}/", flush=True)  # fmt: skip
    if any(spec.store == "redis" for spec in cells_to_run):
        try:
            meta["redis_server"] = find_server().describe()
        except StartupError as error:
            report.write_results(out, {**meta, "aborted": str(error)}, cells)
            print(f"sessionlab compare: {error}", file=sys.stderr)
            return EXIT_STARTUP
        print(f"sessionlab compare: Redis store cells use {meta['redis_server']}", flush=True)
    with signals_interrupt():
        try:
            for index, spec in enumerate(cells_to_run, start=1):
                progress.index = index
                try:
                    cell = run_cell(
                        spec, out / "cells" / _slug(spec, len(args.nodes) > 1), tuple(args.user_kinds), pids, progress
                    )
                    progress.say(summary_line(cell))
                except CellFailed as failure:
                    cell = failed_cell(spec, str(failure))
                    progress.say(f"  DID NOT RUN: {failure}")
                cells.append(cell)
                report.write_results(out, meta, cells)
        except StartupError as error:
            report.write_results(out, {**meta, "aborted": str(error).splitlines()[0]}, cells)
            print(f"sessionlab compare: a component could not start: {error}", file=sys.stderr)
            return EXIT_STARTUP
        except KeyboardInterrupt:
            report.write_results(out, {**meta, "aborted": "interrupted"}, cells)
            print(f"\nsessionlab compare: interrupted; everything stopped. {len(cells)} finished cells in "
                  f"{out / 'results.json'} (no report)", file=sys.stderr)  # fmt: skip
            return EXIT_INTERRUPTED
    meta["wall_s"] = round(time.monotonic() - progress.began, 1)
    compare_with_baseline(cells)
    report.write_results(out, meta, cells)
    written = report.write_report(out, {"meta": meta, "cells": cells})
    disagree = [c for c in cells if not c.get("agrees_with_theory")]
    failed = [c for c in cells if "failure" in c]
    print(report.console_summary(cells), flush=True)
    print(f"sessionlab compare: {len(cells)} cells in {meta['wall_s']:.0f}s; wrote "
          + ", ".join(str(p) for p in written), flush=True)  # fmt: skip
    print(f"sessionlab compare: {write_screenshot(out)}", flush=True)
    if failed:
        print(f"sessionlab compare: {len(failed)} cell(s) did not run to the end (see the report)", file=sys.stderr)
        return EXIT_STARTUP
    return EXIT_DISAGREES if disagree and args.strict else EXIT_OK


def _meta(args: argparse.Namespace, cells: list[CellSpec]) -> dict[str, Any]:
    first = cells[0] if cells else CellSpec("random", "memory", "steady", args.nodes[0], 0, 0.0)
    return {
        "tool": "sessionlab compare",
        "started": datetime.now().isoformat(timespec="seconds"),
        "nodes": args.nodes[0] if len(args.nodes) == 1 else list(args.nodes),
        "users": first.users,
        "duration": first.duration,
        "workers": args.workers,
        "user_kinds": list(args.user_kinds),
        "consistency": list(args.consistency),
        "revocation_bound_s": _revocation_bound(args),
        "quick": bool(args.quick),
        "load_model": "open" if args.arrival_rate else "closed",
        "arrival_rate": args.arrival_rate,
        "cells": len(cells),
    }


def _slug(spec: CellSpec, sweep: bool = False) -> str:
    """The cell's folder: <store>-<routing>-<scenario>[-<consistency>], plus -n<nodes> in a --nodes sweep."""
    mode = f"-{spec.consistency}" if spec.consistency else ""
    variant = spec.store_variant.replace(" / +", "-").replace(" ms", "ms").replace(" / ", "-")
    store = spec.store_label.replace(" ", "-")
    return f"{store}-{spec.routing}-{spec.scenario}{mode}{variant}" + (f"-n{spec.nodes}" if sweep else "")
