"""`sessionlab compare`: the routing x store x scenario matrix, one fresh local cluster per cell, and a report.

For each cell: start the cluster, run the locustfile headless as its own process for a bounded time (in
the node-failure scenario SIGKILL one node at the run's midpoint), read what it counted, stop everything.
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

from loadtest import locustrun, report
from loadtest.cells import CellSpec, Kill, build_cell, failed_cell
from loadtest.localcluster import ClusterConfig, LocalCluster
from loadtest.processes import StartupError
from loadtest.report import write_results
from loadtest.theory import ROUTINGS, SCENARIOS, STORES

DEFAULT_USERS = 40
DEFAULT_DURATION = 14.0
QUICK = {"users": 20, "duration": 7.0, "routing": ("random", "sticky", "hash"),
         "scenario": ("node-failure",)}  # fmt: skip
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
    parser.add_argument("--routing", type=_choices(ROUTINGS), help=f"comma-separated subset of {','.join(ROUTINGS)}")
    parser.add_argument("--store", type=_choices(STORES), help=f"comma-separated subset of {','.join(STORES)}")
    parser.add_argument("--scenario", type=_choices(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--users", type=int, help=f"locust users per cell (default {DEFAULT_USERS})")
    parser.add_argument("--duration", type=float, help=f"seconds of load per cell (default {DEFAULT_DURATION:g})")
    parser.add_argument("--nodes", type=int, default=3, help="nodes per cluster (default 3)")
    parser.add_argument("--workers", type=int, default=0, help="locust worker processes (0: one local process)")
    parser.add_argument("--user-kinds", type=_choices(tuple(locustrun.USER_CLASSES)), default=("browser", "app"),
                        help="which users to run: browser,app (default both)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: fewer users, 7 s cells, and (unless chosen) "
                             "random,sticky,hash x every store x node-failure")  # fmt: skip
    parser.add_argument("--out", type=Path, help="output folder (default reports/<timestamp>/)")
    parser.add_argument("--strict", action="store_true", help=f"exit {EXIT_DISAGREES} if a cell disagrees with theory")
    args = parser.parse_args(argv)
    if args.nodes < 2:
        parser.error("--nodes must be at least 2 (a node-failure cell kills one)")
    if args.workers < 0 or (args.users is not None and args.users < 1):
        parser.error("--workers must be >= 0 and --users >= 1")
    return args


def _choices(allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in value.split(",") if item.strip())
        wrong = [item for item in items if item not in allowed]
        if wrong or not items:
            raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated subset of {','.join(allowed)}")
        return items

    return parse


def plan(args: argparse.Namespace) -> list[CellSpec]:
    """The cells to run, in matrix order (store, then routing, then scenario)."""
    quick: dict[str, Any] = QUICK if args.quick else {}
    routings = args.routing or quick.get("routing", ROUTINGS)
    stores = args.store or quick.get("store", STORES)
    scenarios = args.scenario or quick.get("scenario", SCENARIOS)
    users = args.users or quick.get("users", DEFAULT_USERS)
    duration = args.duration or quick.get("duration", DEFAULT_DURATION)
    return [
        CellSpec(routing, store, scenario, args.nodes, users, duration, args.workers)
        for store in stores
        for routing in routings
        for scenario in scenarios
    ]


def run_cell(spec: CellSpec, folder: Path, kinds: tuple[str, ...], pids: PidLog, progress: Progress) -> dict[str, Any]:
    """Fresh cluster, bounded locust run (a node killed at the midpoint if asked), stop all, the cell's record."""
    config = ClusterConfig(nodes=spec.nodes, routing=spec.routing, store=spec.store, log_dir=folder / "logs")
    with LocalCluster(config, on_pid=pids) as cluster:
        run = locustrun.LocustRun(spec, cluster.url, folder, kinds, on_pid=pids)
        progress.say(f"{spec.label}: cluster up in {cluster.started_in:.1f}s; locust {spec.users} users "
                     f"for {spec.duration:g}s" + (f" on {spec.workers} workers" if spec.workers else ""))  # fmt: skip
        process = run.start()
        try:
            start = run.wait_started(process)
            kill = _kill_midway(cluster, spec, start, progress) if spec.scenario == "node-failure" else None
            run.wait_finished(process)
            stats = run.final_stats(process)
        finally:
            locustrun.stop(process)
        dead = [name for name in cluster.dead_members() if not kill or name != kill.node]
        if dead:
            raise CellFailed(f"{', '.join(dead)} died during the run; see {folder / 'logs'}")
    return build_cell(spec, stats, kill)


def _kill_midway(cluster: LocalCluster, spec: CellSpec, start: float, progress: Progress) -> Kill:
    locustrun.wait_seconds(start + spec.duration / 2 - time.time())
    node = cluster.kill_node(0)
    at = time.time() - start
    ejected = cluster.wait_ejected(node, timeout=10.0)
    ejected_at = time.time() - start if ejected else None
    seen = f"balancer ejected it {ejected_at - at:.1f}s later" if ejected_at else "balancer did not eject it"
    progress.say(f"  SIGKILLed {node} at {at:.1f}s; {seen}")
    return Kill(node, at, ejected_at)


def summary_line(cell: dict[str, Any]) -> str:
    flag = "ok" if cell.get("agrees_with_theory") else "<<< DISAGREES WITH THEORY >>>"
    return (
        f"  miss {cell['miss_rate']:.1%} (theory {cell['expected_miss_rate']:.1%} ±{cell['tolerance']:.1%}) {flag}"
        f" | p50 {_ms(cell['p50_ms'])} p95 {_ms(cell['p95_ms'])} p99 {_ms(cell['p99_ms'])} ms"
        f" | {cell['rps']:.0f} rps | errors {cell['errors']} | relogins {cell['relogins']}"
    )


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
    out = args.out or Path("reports") / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    pids = PidLog(out / "pids.txt")
    progress = Progress(total=len(cells_to_run))
    meta = _meta(args, cells_to_run)
    cells: list[dict[str, Any]] = []
    print(f"sessionlab compare: {len(cells_to_run)} cells, {meta['users']} users x {meta['duration']:g}s each, "
          f"{args.nodes} nodes; writing to {out}/", flush=True)  # fmt: skip
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
                write_results(out, meta, cells)
        except StartupError as error:
            write_results(out, {**meta, "aborted": str(error).splitlines()[0]}, cells)
            print(f"sessionlab compare: a component could not start: {error}", file=sys.stderr)
            return EXIT_STARTUP
        except KeyboardInterrupt:
            write_results(out, {**meta, "aborted": "interrupted"}, cells)
            print(f"\nsessionlab compare: interrupted; everything stopped. {len(cells)} finished cells in "
                  f"{out / 'results.json'} (no report)", file=sys.stderr)  # fmt: skip
            return EXIT_INTERRUPTED
    meta["wall_s"] = round(time.monotonic() - progress.began, 1)
    write_results(out, meta, cells)
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
    first = cells[0] if cells else replace(CellSpec("random", "memory", "steady", args.nodes, 0, 0.0))
    return {
        "tool": "sessionlab compare",
        "started": datetime.now().isoformat(timespec="seconds"),
        "nodes": args.nodes,
        "users": first.users,
        "duration": first.duration,
        "workers": args.workers,
        "user_kinds": list(args.user_kinds),
        "quick": bool(args.quick),
        "cells": len(cells),
    }


def _slug(spec: CellSpec) -> str:
    return f"{spec.store}-{spec.routing}-{spec.scenario}"
