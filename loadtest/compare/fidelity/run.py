"""The capacity search and the outside cross-check as `sessionlab compare` runs (options: fidelity/options.py).

Capacity: per routing x store, one fresh cluster; each step is an open-loop run at one rate on it, judged
by fidelity/capacity.py. Cross-check: one cluster; the lab's ReaderUser (GET /me) open loop at R requests/s
on C users (one connection each), then `hey -c C -q R/C` with one logged-in cookie on the same cluster.
Both write results.json and a short report.md into --out, and every PID they start into pids.txt.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from loadtest.compare.fidelity import capacity, crosscheck, generator, knee, verdict
from loadtest.compare.fidelity import report as fidelity_report
from loadtest.compare.fidelity.options import (
    CAPACITY_STEP_DURATION,
    CROSS_CHECK_CONNECTIONS,
    CROSS_CHECK_DURATION,
    CROSS_CHECK_RATE,
)
from loadtest.compare.fidelity.server_times import ServerClocks
from loadtest.compare.matrix import describe
from loadtest.compare.options import DEFAULT_USERS, EXIT_DISAGREES, EXIT_INTERRUPTED, EXIT_OK, EXIT_STARTUP
from loadtest.compare.record import loadfigures
from loadtest.compare.record.cells import build_cell
from loadtest.compare.report.render import write_results, write_results_page
from loadtest.compare.run.loadrun import cpu_fields, run_load
from loadtest.compare.run.progress import PidLog, Progress, signals_interrupt
from loadtest.compare.spec import CellSpec
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.paths import report_dir
from loadtest.lab.processes import StartupError
from loadtest.lab.server_binary import find_server
from loadtest.render.page import command_line
from loadtest.users import hdr
from nodes.contract.names import COOKIE, MEMORY, REDIS, STICKY

CAPACITY_ROUTINGS = (STICKY,)
CAPACITY_STORES = (MEMORY, REDIS, COOKIE)  # every store of STORES, in the order the search has always run them
STEADY = "steady"  # the scenario of capacity steps and cross-check rounds: load only, nothing disturbed
STEP_OVERHEAD_S = 4.0  # locust start and stop around each step, measured on a loaded 2-core machine
CLUSTER_OVERHEAD_S = 5.0 + generator.PROBES_S


def _setup(args: argparse.Namespace, cells: int) -> tuple[Path, PidLog, dict[str, Any]]:
    out = args.out or report_dir()
    out.mkdir(parents=True, exist_ok=True)
    meta = {**describe(args, []), "cells": cells, "load_model": "open"}
    return out, PidLog(out / "pids.txt"), meta


def _cluster(spec: CellSpec, folder: Path, pids: PidLog) -> LocalCluster:
    config = ClusterConfig(nodes=spec.nodes, routing=spec.routing, store=spec.store, log_dir=folder / "logs")
    return LocalCluster(config, on_pid=pids)


def _step_cell(spec: CellSpec, folder: Path, cluster: LocalCluster, pids: PidLog) -> dict[str, Any]:
    load = run_load(cluster, spec, folder, ("browser", "app"), pids)
    return {**build_cell(spec, load.stats).to_json(), **cpu_fields(load.cpu), "hdr_data": load.stats.get("hdr") or {}}


def observe(cell: dict[str, Any]) -> capacity.Observation:
    """What a capacity step tells the search; the generator only fails a step when it could not keep the rate."""
    keys = ("achieved_rps", "p50_ms", "p99_ms", "service_p99_ms", "cluster_p99_ms", "start_lag_p99_ms",
            "late_start_rate", "errors", "requests", "queued_starts", "generator_cpu_share", "cluster_cpu_share",
            "machine_busy_share")  # fmt: skip
    return capacity.Observation(cell.get("p99_ms"), float(cell.get("error_rate") or 0.0),
                                generator_behind=verdict.generator_ran_out(cell),
                                rate_kept=cell.get("rate_kept", True) or cell.get("rate_short_by") == "generator",
                                cluster_p99_ms=cell.get("cluster_p99_ms"),
                                details={k: cell.get(k) for k in keys})  # fmt: skip


def machine_verdict(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether other processes saturated the machine during the search: then the answer measures contention."""
    saturated = sum(1 for step in steps if crosscheck.contended(step["details"]))
    note = (
        (
            f"machine saturated by other processes in {saturated} of {len(steps)} steps (CPU busy >= "
            f"{crosscheck.SATURATED:.0%}, of which >= {crosscheck.OTHERS_SIGNIFICANT:.0%} neither the generator "
            "nor the cluster): this capacity measures the machine's contention, not the cluster"
        )
        if saturated
        else None
    )
    return {"capacity_machine_saturated_steps": saturated, "capacity_note": note}


def capacity_plan(args: argparse.Namespace) -> list[CellSpec]:
    users, duration = args.users or DEFAULT_USERS, args.duration or CAPACITY_STEP_DURATION
    return [CellSpec(routing, store, STEADY, args.nodes[0], users, duration, args.workers, poisson=args.poisson)
            for store in (args.store or CAPACITY_STORES)
            for routing in (args.routing or CAPACITY_ROUTINGS)]  # fmt: skip


def estimate_s(specs: list[CellSpec], steps: int) -> float:
    return sum(CLUSTER_OVERHEAD_S + steps * (spec.duration + STEP_OVERHEAD_S) for spec in specs)


def search_cell(spec: CellSpec, folder: Path, pids: PidLog, progress: Progress, slo_ms: float,
                max_steps: int) -> dict[str, Any]:  # fmt: skip
    with _cluster(spec, folder, pids) as cluster:
        ceiling = generator.ceiling(spec, folder, cluster, pids)
        progress.say(f"  generator ceiling: {ceiling['generator_ceiling_rps']:g} req/s of GET /healthz")

        def measure(rate: float) -> capacity.Observation:
            step = CellSpec(**{**spec.__dict__, "arrival_rate": rate})
            return observe(generator.step_cell(step, folder / f"step-{rate:g}", cluster, pids))

        def said(step: capacity.Step) -> None:
            d = step.details
            said_verdict = "pass" if step.passed else f"FAIL ({verdict.LIMITS.get(step.failed_by or '')})"
            progress.say(f"  {step.rate:g}/s: {said_verdict} p99 {d.get('p99_ms')} ms (from the send "
                         f"{d.get('service_p99_ms')} ms), achieved {d.get('achieved_rps')}/s,"
                         f" errors {d.get('errors')}, late starts {d.get('late_start_rate')},"
                         f" generator CPU {d.get('generator_cpu_share')}")  # fmt: skip

        found = capacity.search(measure, capacity.Search(slo_ms=slo_ms, max_steps=max_steps), on_step=said)
        outside = knee.cross_check(cluster.url, folder / "knee", slo_ms)
    found = {**found, "capacity_limited_by": verdict.LIMITS.get(found["capacity_limited_by"] or "", None),
             "capacity_steps": [verdict.step_fields(step) for step in found["capacity_steps"]]}  # fmt: skip
    return {"routing": spec.routing, "store": spec.store, "scenario": "capacity", "nodes": spec.nodes,
            "users": spec.users, "workers_requested": spec.workers, "duration": spec.duration,
            "load_model": "open", "poisson": spec.poisson, "generator": "sender", **found, **ceiling,
            "capacity_text": verdict.capacity_text(found), "knee_cross_check": outside,
            **machine_verdict(found["capacity_steps"])}  # fmt: skip


def run_capacity(args: argparse.Namespace) -> int:
    specs = capacity_plan(args)
    out, pids, meta = _setup(args, len(specs))
    steps = args.capacity_steps
    meta.update(slo_ms=args.slo_ms, step_duration=specs[0].duration, capacity_steps=steps)
    print(f"sessionlab compare --capacity: {len(specs)} cells (routing x store), up to {steps} steps of "
          f"{specs[0].duration:g}s each: this takes at most {estimate_s(specs, steps) / 60:.1f} min; "
          f"writing to {out}/", flush=True)  # fmt: skip

    def one(spec: CellSpec, folder: Path, progress: Progress) -> dict[str, Any]:
        return search_cell(spec, folder, pids, progress, args.slo_ms, steps)

    return _run(specs, out, meta, pids, one)


def cross_check_cell(spec: CellSpec, folder: Path, pids: PidLog, progress: Progress) -> dict[str, Any]:
    binary = crosscheck.hey_path()
    if binary is None:
        raise StartupError("`hey` is not on PATH: install it (Debian/Ubuntu: apt-get install hey) for --cross-check")
    turn = CellSpec(**{**spec.__dict__, "duration": float(crosscheck.round_seconds(spec.duration))})
    rounds, samples = [], []
    sends: list[list[float]] = []  # hey's send offsets per run: how bunched its requests leave
    with _cluster(spec, folder, pids) as cluster:
        hey = crosscheck.HeyRun(f"{cluster.url}/me", spec.arrival_rate, spec.users, turn.duration,
                                crosscheck.login_cookie(cluster.url))  # fmt: skip
        clocks = ServerClocks(cluster.url, [member.url for member in cluster.members()])
        for index in range(crosscheck.ROUNDS):
            with clocks.measuring("lab"):
                rounds.append(_step_cell(turn, folder / f"round-{index + 1}", cluster, pids))
            with clocks.measuring(crosscheck.HEY):
                samples += hey.run(binary, sends)
            progress.say(f"  round {index + 1}: lab p50 {rounds[-1].get('p50_ms')} p99 {rounds[-1].get('p99_ms')} ms;"
                         f" hey p50 {crosscheck.exact_percentile([ms for ms, _ in samples], 50):.3g} ms")  # fmt: skip
    cell = merged_rounds(rounds)
    total = turn.duration * crosscheck.ROUNDS
    tool = crosscheck.figures(samples, total, sends)
    servers = {side: clocks.figures(side) for side in ("lab", crosscheck.HEY)}
    return {**cell, "duration": total,
            "cross_check": crosscheck.compare_figures(spec.arrival_rate, spec.users, cell, tool, servers)}  # fmt: skip


def merged_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One record of the lab's rounds: latency from their merged histograms, counts summed, rates averaged."""
    recorder = hdr.Recorder()
    for cell in rounds:
        recorder.merge(cell.get("hdr_data") or {})
    counts = ("requests", "errors", "late_starts", "queued_starts", "missed_starts", "scheduled_requests")
    summed = {key: sum(int(c.get(key) or 0) for c in rounds) for key in counts}
    cpu = {key: round(sum(float(c.get(key) or 0) for c in rounds), 2) for key in ("generator_cpu_s", "cluster_cpu_s")}
    shares = ("achieved_rps", "generator_cpu_share", "cluster_cpu_share", "machine_busy_share", "load_average")
    averaged = {key: round(sum(float(c.get(key) or 0) for c in rounds) / len(rounds), 3) for key in shares}
    late_rate = summed["late_starts"] / summed["scheduled_requests"] if summed["scheduled_requests"] else 0.0
    base = {k: v for k, v in rounds[0].items() if k not in ("timeline", "hdr_data")}
    return {**base, **summed, **averaged, **cpu, **loadfigures.latency_fields(recorder.encode()),
            "late_start_rate": round(late_rate, 4), "rounds": len(rounds),
            "generator_behind": any(c.get("generator_behind") for c in rounds)}  # fmt: skip


def run_cross_check(args: argparse.Namespace) -> int:
    spec = CellSpec((args.routing or (STICKY,))[0], (args.store or (MEMORY,))[0], STEADY, args.nodes[0],
                    args.users or CROSS_CHECK_CONNECTIONS, args.duration or CROSS_CHECK_DURATION, args.workers,
                    arrival_rate=args.arrival_rate or CROSS_CHECK_RATE, poisson=args.poisson,
                    user_classes=("ReaderUser",))  # fmt: skip
    out, pids, meta = _setup(args, 1)
    print(f"sessionlab compare --cross-check: {spec.label} at {spec.arrival_rate:g}/s on {spec.users} "
          f"connections, {crosscheck.ROUNDS} turns of {crosscheck.round_seconds(spec.duration)}s each for the lab and "
          f"for hey (~{4 * crosscheck.round_seconds(spec.duration) + 15:.0f}s)", flush=True)  # fmt: skip
    return _run([spec], out, meta, pids, lambda spec, folder, progress: cross_check_cell(spec, folder, pids, progress))


def _run(specs: list[CellSpec], out: Path, meta: dict[str, Any], pids: PidLog, one: Any) -> int:
    progress = Progress(total=len(specs))
    cells: list[dict[str, Any]] = []
    if any(spec.store == "redis" for spec in specs):
        meta["redis_server"] = find_server().describe()
    with signals_interrupt():
        try:
            for index, spec in enumerate(specs, start=1):
                progress.index = index
                progress.say(f"{spec.label}")
                cells.append(one(spec, out / "cells" / f"{spec.store}-{spec.routing}", progress))
                write_results(out, meta, cells)
        except StartupError as error:
            write_results(out, {**meta, "aborted": str(error).splitlines()[0]}, cells)
            print(f"sessionlab compare: {error}", flush=True)
            return EXIT_STARTUP
        except KeyboardInterrupt:
            write_results(out, {**meta, "aborted": "interrupted"}, cells)
            return EXIT_INTERRUPTED
    meta["wall_s"] = round(time.monotonic() - progress.began, 1)
    write_results(out, meta, cells)
    text = fidelity_report.render(meta, cells)
    (out / "report.md").write_text(text)
    print(text, flush=True)
    return EXIT_DISAGREES if crosscheck.disagrees(cells) else EXIT_OK


def main(args: argparse.Namespace) -> int:
    """`--capacity` or `--cross-check`: each replaces the matrix with its own runs; `--results-page` also writes
    its report as a docs page headed by date, machine and command line."""
    started = time.monotonic()
    args.out = args.out or report_dir()  # one folder, known here too
    status = run_capacity(args) if args.capacity else run_cross_check(args)
    report = args.out / "report.md"
    if args.results_page is not None and report.exists():
        write_results_page(args.results_page, report, command_line(), time.monotonic() - started)
    return status
