"""`sessionlab compare`: the routing x store x scenario matrix, one fresh local cluster per cell, and a report.

For each cell: start the cluster its scenario asks for (`loadtest/compare/scenarios/`), run the locustfile
headless as its own process for a bounded time while the scenario's events are applied on their timeline
(node-failure SIGKILLs a node at the midpoint), read what it counted, then (once per store and routing)
measure how long a session stays usable after /logout-all, and stop everything.
Then write results.json, report.md, report.html and the raw locust CSVs under --out. Every PID started is
appended to <out>/pids.txt, and every one is stopped before this command returns, even on Ctrl-C.
"""

from __future__ import annotations

import sys
import time

import balancer
from loadtest.compare import report
from loadtest.compare.fidelity import options as fidelity
from loadtest.compare.fidelity import run as fidelity_run
from loadtest.compare.matrix import describe, plan
from loadtest.compare.options import EXIT_DISAGREES, EXIT_INTERRUPTED, EXIT_OK, EXIT_STARTUP, parse_args
from loadtest.compare.record.cells import failed_cell
from loadtest.compare.record.model import Cell, CellRecord, FailedCell, to_json
from loadtest.compare.record.store_latency import compare_with_baseline
from loadtest.compare.report.render import write_results_page
from loadtest.compare.report.screenshot import write_screenshot
from loadtest.compare.report.top import meta_fields
from loadtest.compare.run.cell import CellFailed, cell_folder_name, precheck, run_cell
from loadtest.compare.run.progress import PidLog, Progress, signals_interrupt
from loadtest.lab.paths import report_dir
from loadtest.lab.processes import StartupError
from loadtest.lab.server_binary import find_server
from loadtest.render.format import ms
from loadtest.render.page import command_line


def summary_line(record: CellRecord) -> str:
    """The progress line of a cell that ran: misses beside theory, latency, throughput, what went wrong."""
    cell = record.to_json()  # the scenario's and load model's figures are read by their results.json names
    misses, traffic = record.misses, record.traffic
    flag = "ok" if record.agrees_with_theory else "<<< DISAGREES WITH THEORY >>>"
    flag = "not modelled" if record.not_modelled else flag
    line = (
        f"  miss {misses.miss_rate:.1%} (theory {misses.expected_miss_rate:.1%} ±{misses.tolerance:.1%}) {flag}"
        f" | p50 {ms(cell['p50_ms'])} p95 {ms(cell['p95_ms'])} p99 {ms(cell['p99_ms'])} ms"
        f" | {traffic.rps:.0f} rps | errors {record.errors.errors} | relogins {record.sessions.relogins}"
    )
    if "lost_update_rate" in cell:
        line += (f" | lost updates {cell['increments_lost']} of {cell['increments_acked']}"
                 f" ({report.pct(cell['lost_update_rate'])}), 409s {cell['conflicts_409']}")  # fmt: skip
    if record.load.workers_requested:
        line += f" | load from {record.load.load_processes} of {record.load.workers_requested} workers"
    if cell.get("balancer", "sessionlab") != "sessionlab" or cell.get("repins_after_event") is not None:
        repins = cell["repins"] if cell.get("repins_after_event") is None else cell["repins_after_event"]
        line += (f" | re-pins {repins}, errors GET {cell.get('errors_idempotent')} POST "
                 f"{cell.get('errors_non_idempotent')}, POSTs replayed {cell.get('posts_replayed')}")  # fmt: skip
    return line + fidelity.summary_suffix(cell)


def main(argv: list[str] | None = None) -> int:
    argv_used = sys.argv[1:] if argv is None else argv
    args = parse_args(argv_used)
    if args.capacity or args.cross_check:
        return fidelity_run.main(args)
    cells_to_run = plan(args)
    out = args.out or report_dir()
    out.mkdir(parents=True, exist_ok=True)
    pids = PidLog(out / "pids.txt")
    progress = Progress(total=len(cells_to_run))
    meta = describe(args, cells_to_run)
    cells: list[Cell] = []
    print(f"sessionlab compare: {len(cells_to_run)} cells, {meta['users']} users x {meta['duration']:g}s each, "
          f"{','.join(map(str, args.nodes))} nodes; writing to {out}/", flush=True)  # fmt: skip
    meta["balancer_data_path"] = f"{balancer.DATA_PATH.kind} ({balancer.DATA_PATH.reason})"  # what its latency ran on
    print(f"sessionlab compare: our balancer's data path: {meta['balancer_data_path']}", flush=True)
    if any(spec.store == "redis" for spec in cells_to_run):
        try:
            meta["redis_server"] = find_server().describe()
        except StartupError as error:
            report.write_results(out, {**meta, "aborted": str(error)}, to_json(cells))
            print(f"sessionlab compare: {error}", file=sys.stderr)
            return EXIT_STARTUP
        print(f"sessionlab compare: Redis store cells use {meta['redis_server']}", flush=True)
    with signals_interrupt():
        try:
            for index, spec in enumerate(cells_to_run, start=1):
                progress.index = index
                if (unrunnable := precheck(spec)) is not None:
                    cells.append(unrunnable)
                    progress.say(f"{spec.label}: {unrunnable.failure}")
                    continue
                cell: Cell
                try:
                    folder = out / "cells" / cell_folder_name(spec, len(args.nodes) > 1)
                    ran = run_cell(spec, folder, tuple(args.user_kinds), pids, progress)
                    progress.say(summary_line(ran))
                    cell = ran
                except CellFailed as failure:
                    cell = failed_cell(spec, str(failure))
                    progress.say(f"  DID NOT RUN: {failure}")
                cells.append(cell)
                report.write_results(out, meta, to_json(cells))
        except StartupError as error:
            report.write_results(out, {**meta, "aborted": str(error).splitlines()[0]}, to_json(cells))
            print(f"sessionlab compare: a component could not start: {error}", file=sys.stderr)
            return EXIT_STARTUP
        except KeyboardInterrupt:
            report.write_results(out, {**meta, "aborted": "interrupted"}, to_json(cells))
            print(f"\nsessionlab compare: interrupted; everything stopped. {len(cells)} finished cells in "
                  f"{out / 'results.json'} (no report)", file=sys.stderr)  # fmt: skip
            return EXIT_INTERRUPTED
    meta["wall_s"] = round(time.monotonic() - progress.began, 1)
    cells = compare_with_baseline(cells)
    records = to_json(cells)  # the record as results.json and the report read it
    meta |= meta_fields(records, meta)
    report.write_results(out, meta, records)
    written = report.write_report(out, {"meta": meta, "cells": records})
    if args.results_page is not None:
        written.append(write_results_page(args.results_page, out / "report.md", command_line(["compare", *argv_used]),
                                          meta["wall_s"]))  # fmt: skip
    disagree = [c for c in cells if not c.agrees_with_theory]
    failed = [c for c in cells if isinstance(c, FailedCell) and not c.by_design]
    print(report.console_summary(records), flush=True)
    print(f"sessionlab compare: {len(cells)} cells in {meta['wall_s']:.0f}s; wrote "
          + ", ".join(str(p) for p in written), flush=True)  # fmt: skip
    print(f"sessionlab compare: {write_screenshot(out)}", flush=True)
    if failed:
        print(f"sessionlab compare: {len(failed)} cell(s) did not run to the end (see the report)", file=sys.stderr)
        return EXIT_STARTUP
    return EXIT_DISAGREES if disagree and args.strict else EXIT_OK
