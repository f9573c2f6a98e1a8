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

from loadtest.compare import locustrun, report, revocation
from loadtest.compare.cells import CellSpec, build_cell, failed_cell
from loadtest.compare.scenarios import SCENARIOS, Scenario, scenario_for
from loadtest.compare.scenarios.rolling_deploy import DEPLOY_MODES
from loadtest.compare.scenarios.timeline import run_timeline
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
from loadtest.lab.paths import absolute, report_dir
from loadtest.lab.processes import StartupError
from loadtest.lab.server_binary import find_server
from nodes.contract.names import CONSISTENCY_MODES, DEFAULT_MAX_AGE, ROUTING_MODES, STORES

DEFAULT_USERS = 40
DEFAULT_DURATION = 14.0
DEFAULT_REVOCATION_BOUND = 5.0
DEFAULT_DRAIN_SECONDS = 2.0
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
    parser.add_argument("--store", type=_choices(STORES), help=f"comma-separated subset of {','.join(STORES)}")
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
    parser.add_argument("--drain-seconds", type=float, default=DEFAULT_DRAIN_SECONDS,
                        help="rolling-deploy and scale-in: seconds a node drains before it is stopped or removed "
                             f"(default {DEFAULT_DRAIN_SECONDS:g})")  # fmt: skip
    parser.add_argument("--deploy-mode", choices=DEPLOY_MODES, default=DEPLOY_MODES[0],
                        help="rolling-deploy: drain (drain, SIGTERM, restart, ready; default) or kill (SIGKILL, no "
                             "drain, restart: the contrast)")  # fmt: skip
    parser.add_argument("--users", type=int, help=f"locust users per cell (default {DEFAULT_USERS})")
    parser.add_argument("--duration", type=float, help=f"seconds of load per cell (default {DEFAULT_DURATION:g})")
    parser.add_argument("--nodes", type=int, default=3, help="nodes per cluster (default 3)")
    parser.add_argument("--workers", type=int, default=0, help="locust worker processes (0: one local process)")
    parser.add_argument("--user-kinds", type=_choices(tuple(locustrun.USER_CLASSES)), default=("browser", "app"),
                        help="users to run: browser,app (default both; concurrent cells run their own)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: fewer users, 7 s cells, and (unless chosen) "
                             "random,sticky,hash x every store x node-failure")  # fmt: skip
    parser.add_argument("--out", type=absolute, help="output folder (default ./reports/<timestamp>/)")
    parser.add_argument("--strict", action="store_true", help=f"exit {EXIT_DISAGREES} if a cell disagrees with theory")
    args = parser.parse_args(argv)
    if args.nodes < 2:
        parser.error("--nodes must be at least 2 (a node-failure cell kills one)")
    if args.workers < 0 or (args.users is not None and args.users < 1):
        parser.error("--workers must be >= 0 and --users >= 1")
    if args.revocation_bound is not None and args.revocation_bound < 0:
        parser.error("--revocation-bound must be >= 0")
    if not 0 <= args.drain_seconds <= 600:
        parser.error("--drain-seconds must be between 0 and 600")
    return args


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
    load = {"nodes": args.nodes, "users": args.users or quick.get("users", DEFAULT_USERS),
            "duration": args.duration or quick.get("duration", DEFAULT_DURATION), "workers": args.workers,
            "drain_seconds": args.drain_seconds, "deploy_mode": args.deploy_mode}  # fmt: skip
    whole = bool(args.all or args.store or args.routing or args.quick)  # else: each scenario's default cells
    cells = []
    for store in stores:
        for routing in _routings(args, quick, None):
            cells += [_spec(routing, store, s, mode, load) for s in scenarios if s.interleaved
                      and (whole or s.in_default_matrix(store, routing))
                      for mode in s.variants(store, args.consistency)]  # fmt: skip
        for scenario in (s for s in scenarios if not s.interleaved):
            cells += [_spec(routing, store, scenario, mode, load) for routing in _routings(args, quick, scenario)
                      if whole or scenario.in_default_matrix(store, routing)
                      for mode in scenario.variants(store, args.consistency)]  # fmt: skip
    return with_revocation(cells, _revocation_bound(args))


def _routings(args: argparse.Namespace, quick: dict[str, Any], scenario: Scenario | None) -> tuple[str, ...]:
    """--routing when given, else the scenario's own routings, else the matrix's."""
    own = scenario.default_routings if scenario else None
    return tuple(args.routing or own or quick.get("routing", ROUTING_MODES))


def _spec(routing: str, store: str, scenario: Scenario, mode: str | None, load: dict[str, Any]) -> CellSpec:
    spec = CellSpec(routing, store, scenario.name, consistency=mode, **load)
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
        first = (spec.store, spec.routing) not in seen
        seen.add((spec.store, spec.routing))
        marked.append(replace(spec, revocation_bound=bound) if first else spec)
    return marked


def run_cell(spec: CellSpec, folder: Path, kinds: tuple[str, ...], pids: PidLog, progress: Progress) -> dict[str, Any]:
    """The scenario's cluster, a bounded locust run with the scenario's events on their timeline, stop all."""
    scenario = scenario_for(spec.scenario)
    config = scenario.cluster(ClusterConfig(nodes=spec.nodes, routing=spec.routing, store=spec.store,
                                            log_dir=folder / "logs", consistency=spec.consistency))  # fmt: skip
    with LocalCluster(config, on_pid=pids) as cluster:
        run = locustrun.LocustRun(spec, cluster.url, folder, kinds, on_pid=pids)
        progress.say(f"{spec.label}: cluster up in {cluster.started_in:.1f}s; locust {spec.users} users "
                     f"for {spec.duration:g}s" + (f" on {spec.workers} workers" if spec.workers else ""))  # fmt: skip
        control = ClusterControl(cluster)
        process = run.start()
        try:
            start = run.wait_started(process)
            records = run_timeline(scenario.events(spec), control, start, progress.say)
            run.wait_finished(process)
            stats = run.final_stats(process)
        finally:
            locustrun.stop(process)
        revoked = _measure_revocation(spec, cluster.url, progress) if spec.revocation_bound > 0 else {}
        dead = [name for name in cluster.dead_members() if name not in control.taken_down]
        if dead:
            raise CellFailed(f"{', '.join(dead)} died during the run; see {folder / 'logs'}")
    return {**build_cell(spec, stats, scenario.disruption(records), records), **revoked}


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
    return line


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
    cells_to_run = plan(args)
    out = args.out or report_dir()
    out.mkdir(parents=True, exist_ok=True)
    pids = PidLog(out / "pids.txt")
    progress = Progress(total=len(cells_to_run))
    meta = _meta(args, cells_to_run)
    cells: list[dict[str, Any]] = []
    print(f"sessionlab compare: {len(cells_to_run)} cells, {meta['users']} users x {meta['duration']:g}s each, "
          f"{args.nodes} nodes; writing to {out}/", flush=True)  # fmt: skip
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
                    cell = run_cell(spec, out / "cells" / _slug(spec), tuple(args.user_kinds), pids, progress)
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
    report.write_results(out, meta, cells)
    written = report.write_report(out, {"meta": meta, "cells": cells})
    disagree = [c for c in cells if not c.get("agrees_with_theory")]
    failed = [c for c in cells if "failure" in c]
    print(report.console_summary(cells), flush=True)
    print(f"sessionlab compare: {len(cells)} cells in {meta['wall_s']:.0f}s; wrote "
          + ", ".join(str(p) for p in written), flush=True)  # fmt: skip
    if failed:
        print(f"sessionlab compare: {len(failed)} cell(s) did not run to the end (see the report)", file=sys.stderr)
        return EXIT_STARTUP
    return EXIT_DISAGREES if disagree and args.strict else EXIT_OK


def _meta(args: argparse.Namespace, cells: list[CellSpec]) -> dict[str, Any]:
    first = cells[0] if cells else CellSpec("random", "memory", "steady", args.nodes, 0, 0.0)
    return {
        "tool": "sessionlab compare",
        "started": datetime.now().isoformat(timespec="seconds"),
        "nodes": args.nodes,
        "users": first.users,
        "duration": first.duration,
        "workers": args.workers,
        "user_kinds": list(args.user_kinds),
        "consistency": list(args.consistency),
        "revocation_bound_s": _revocation_bound(args),
        "quick": bool(args.quick),
        "cells": len(cells),
    }


def _slug(spec: CellSpec) -> str:
    mode = f"-{spec.consistency}" if spec.consistency else ""
    return f"{spec.store}-{spec.routing}-{spec.scenario}{mode}"
