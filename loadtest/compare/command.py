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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from loadtest.compare import fidelity, locustrun, report, revocation, sweep
from loadtest.compare.cells import CellSpec, build_cell, failed_cell
from loadtest.compare.loadrun import cpu_fields, run_load
from loadtest.compare.report.screenshot import write_screenshot
from loadtest.compare.scenarios import SCENARIOS, Scenario, scenario_for
from loadtest.compare.scenarios.store_actions import measured
from loadtest.compare.scenarios.timeline import run_timeline
from loadtest.compare.store_latency import compare_with_baseline, p50_by_request
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
from loadtest.lab.paths import absolute, report_dir
from loadtest.lab.processes import StartupError
from loadtest.lab.replication import DEFAULT_REPLICATION
from loadtest.lab.server_binary import find_server
from loadtest.lab.store_backend import PERSISTENCE
from nodes.contract.names import (
    CONSISTENCY_MODES,
    DEFAULT_MAX_AGE,
    NODE_STORES,
    ROUTING_MODES,
    STORES,
)

DEFAULT_USERS = 40
DEFAULT_OUTAGE = 3.0
DEFAULT_DURATION = 14.0
DEFAULT_REVOCATION_BOUND = 5.0
QUICK = {"users": 20, "duration": 7.0, "routing": ("random", "sticky", "hash"),
         "scenario": ("node-failure",)}  # fmt: skip
QUICK_REVOCATION_BOUND = 2.0
EXIT_OK, EXIT_STARTUP, EXIT_USAGE, EXIT_DISAGREES, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


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


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sessionlab compare",
        description="Run the routing x store x scenario matrix against fresh local clusters and write a report "
        "(results.json, report.md, report.html, raw locust CSVs).",
    )
    parser.add_argument(
        "--routing", type=_choices(ROUTING_MODES), help=f"comma-separated subset of {','.join(ROUTING_MODES)}"
    )
    parser.add_argument(
        "--store",
        type=_choices(NODE_STORES),
        help=f"comma-separated subset of {','.join(NODE_STORES)} (default {','.join(STORES)})",
    )
    sweep.add_arguments(parser)  # --replication, --nodes
    parser.add_argument("--scenario", type=_choices(tuple(SCENARIOS)),
                        help=f"comma-separated subset of {','.join(SCENARIOS)} (default: "
                             f"{','.join(default_scenarios())}): " + "; ".join(
                                 f"{name}: {s.description}" for name, s in SCENARIOS.items()))  # fmt: skip
    parser.add_argument("--all", action="store_true", help="every registered scenario (the full matrix)")
    parser.add_argument("--consistency", type=_choices(CONSISTENCY_MODES), default=CONSISTENCY_MODES,
                        help="SESSION_CONSISTENCY modes of the concurrent cells (default both: cas,last_write_wins); "
                             "the cookie store only has last_write_wins")  # fmt: skip
    parser.add_argument("--revocation-bound", type=float,
                        help="seconds to keep polling a session after /logout-all (default "
                             f"{DEFAULT_REVOCATION_BOUND:g}, --quick {QUICK_REVOCATION_BOUND:g}; "
                             "0 skips the measurement)")  # fmt: skip
    parser.add_argument("--store-latency", type=_milliseconds, default=(0.0,), metavar="MS[,MS...]",
                        help="added round trip between the nodes and Redis (a delay relay, half each way), one cell "
                             "per value, e.g. 0,1,2 (default 0)")  # fmt: skip
    parser.add_argument("--outage", type=float, default=DEFAULT_OUTAGE,
                        help=f"seconds Redis stays down in store-failure (default {DEFAULT_OUTAGE:g})")  # fmt: skip
    parser.add_argument(
        "--redis-persistence",
        choices=tuple(PERSISTENCE),
        default="none",
        help="the lab Redis' persistence: none, or aof (appendonly yes, appendfsync everysec)",
    )
    parser.add_argument("--users", type=int, help=f"locust users per cell (default {DEFAULT_USERS})")
    parser.add_argument("--duration", type=float, help=f"seconds of load per cell (default {DEFAULT_DURATION:g})")
    parser.add_argument("--workers", type=int, default=0, help="locust worker processes (0: one local process)")
    parser.add_argument("--user-kinds", type=_choices(tuple(locustrun.USER_CLASSES)), default=("browser", "app"),
                        help="users to run: browser,app (default both; concurrent cells run their own)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: fewer users, 7 s cells, and (unless chosen) "
                             "random,sticky,hash x every store x node-failure")  # fmt: skip
    parser.add_argument("--out", type=absolute, help="output folder (default ./reports/<timestamp>/)")
    parser.add_argument("--strict", action="store_true", help=f"exit {EXIT_DISAGREES} if a cell disagrees with theory")
    fidelity.add_arguments(parser)
    args = parser.parse_args(argv)
    fidelity.check_arguments(parser, args)
    if min(args.nodes) < 2:
        parser.error("--nodes must be at least 2 (a node-failure cell kills one)")
    if args.workers < 0 or (args.users is not None and args.users < 1):
        parser.error("--workers must be >= 0 and --users >= 1")
    if args.revocation_bound is not None and args.revocation_bound < 0:
        parser.error("--revocation-bound must be >= 0")
    return args


def _milliseconds(value: str) -> tuple[float, ...]:
    try:
        items = tuple(float(item) for item in value.split(",") if item.strip())
    except ValueError:
        items = ()
    if not items or any(not 0 <= item <= 1000 for item in items):
        raise argparse.ArgumentTypeError(f"{value!r}: expected comma-separated milliseconds between 0 and 1000")
    return items


def _choices(allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in value.split(",") if item.strip())
        wrong = [item for item in items if item not in allowed]
        if wrong or not items:
            raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated subset of {','.join(allowed)}")
        return items

    return parse


def default_scenarios() -> tuple[str, ...]:
    return tuple(name for name, scenario in SCENARIOS.items() if scenario.in_default)


def plan(args: argparse.Namespace) -> list[CellSpec]:
    """The cells to run, in matrix order: per store, routing x the interleaved scenarios, then the others."""
    quick: dict[str, Any] = QUICK if args.quick else {}
    stores = args.store or quick.get("store", STORES)
    chosen = tuple(SCENARIOS) if args.all else args.scenario or quick.get("scenario", default_scenarios())
    scenarios = [scenario_for(name) for name in chosen]
    load = {"users": args.users or quick.get("users", DEFAULT_USERS),
            "duration": args.duration or quick.get("duration", DEFAULT_DURATION), "workers": args.workers,
            "arrival_rate": args.arrival_rate or 0.0, "poisson": args.poisson,
            "outage": args.outage, "redis_persistence": args.redis_persistence}  # fmt: skip
    cells = []
    for nodes in args.nodes:
        for store, replication in sweep.stores_with_modes(stores, args.replication):
            at = {**load, "nodes": nodes, "replication": replication}
            for routing in _routings(args, quick, None):
                cells += [_spec(routing, store, s, mode, at) for s in scenarios if s.interleaved
                          for mode in s.variants(store, args.consistency)]  # fmt: skip
            for scenario in (s for s in scenarios if not s.interleaved and _in_plan(s, store, args)):
                cells += [_spec(routing, store, scenario, mode, at) for routing in _routings(args, quick, scenario)
                          for mode in scenario.variants(store, args.consistency)]  # fmt: skip
    cells = [replace(cell, store_latency_ms=ms) for cell in cells for ms in args.store_latency]
    return with_revocation(cells, _revocation_bound(args))


def _in_plan(scenario: Scenario, store: str, args: argparse.Namespace) -> bool:
    """A scenario's cells for this store: always when asked for (--all, --store); else its default stores."""
    return bool(args.all or args.store or scenario.default_stores is None or store in scenario.default_stores)


def _routings(args: argparse.Namespace, quick: dict[str, Any], scenario: Scenario | None) -> tuple[str, ...]:
    """--routing when given, else the scenario's own routings, else the matrix's."""
    own = scenario.default_routings if scenario else None
    return tuple(args.routing or own or quick.get("routing", ROUTING_MODES))


def _spec(routing: str, store: str, scenario: Scenario, mode: str | None, load: dict[str, Any]) -> CellSpec:
    """One cell; open loop only for scenarios that run the ordinary users (bursts keep their own rhythm)."""
    paced = load if scenario.users is None else {**load, "arrival_rate": 0.0, "poisson": False}
    return CellSpec(routing, store, scenario.name, consistency=mode, **paced)


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
    store |= {"store_latency_ms": spec.store_latency_ms, "p50_ms_by_request": p50_by_request(stats.get("entries", []))}
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
        f" | p50 {_ms(cell['p50_ms'])} p95 {_ms(cell['p95_ms'])} p99 {_ms(cell['p99_ms'])} ms"
        f" | {cell['rps']:.0f} rps | errors {cell['errors']} | relogins {cell['relogins']}"
    )
    if "lost_update_rate" in cell:
        line += (f" | lost updates {cell['increments_lost']} of {cell['increments_acked']}"
                 f" ({report.pct(cell['lost_update_rate'])}), 409s {cell['conflicts_409']}")  # fmt: skip
    if cell.get("workers_requested"):
        line += f" | load from {cell['load_processes']} of {cell['workers_requested']} workers"
    return line + fidelity.summary_suffix(cell)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


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
