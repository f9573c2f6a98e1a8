"""`sessionlab bench`: how fast is each part, side by side, in one run on this machine.

It measures one node direct (the limit); our balancer in each routing mode, nginx and HAProxy with equivalent
configurations, all over the same two nodes; one node per session store (no session, memory, cookie, redis),
each with clients that keep their session, for reads and for writes; the redis.asyncio GET+SET round trip on its
own (the floor for the Redis store); and how much memory 100,000 memory-store sessions take. Every row is run
with the same load generator (wrk, one thread) and placement (wrk on one CPU, every server on another), in
rounds that alternate the rows (A/B/A/B...), and reported as medians with ratios.

nginx and HAProxy rows are skipped, with the command to install them, when they are not installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import subprocess
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from loadtest.bench.load import browser_sessions, login_sessions, lua_script, run_wrk
from loadtest.bench.report import (
    add_ratios,
    markdown,
    results_page,
    summarize,
    targets,
    tool_version,
)
from loadtest.bench.rows import (
    PROXY_NODES,
    REPLICATIONS,
    Row,
    balancer_data_path,
    baseline_data_path,
    proxy_rows,
    replicated_row,
    selected,
    store_rows,
)
from loadtest.bench.servers import INSTALL_HINTS, Placement, Servers, find_tool
from loadtest.lab.paths import absolute, report_dir
from loadtest.lab.processes import StartupError, python_module
from loadtest.lab.proctree import rss_mb
from loadtest.lab.redis_server import RedisServer
from loadtest.render.page import machine
from nodes.contract.names import STORES

BASELINE_REDIS = "redis_baseline"  # the --baseline checkout's redis store, beside this tree's
# The redis store again, its redis-server on a CPU of its own (a third CPU, or with two the load generator's) rather
# than beside the node: a small production box versus a Redis host; the goals hold in both placements.
OWN_REDIS = "redis_own"
# wrk replays the cookies of the logins made before the runs and never takes a re-issued one, as a browser would. A
# cookie-store session older than its re-issue age (SESSION_TOUCH's default: a minute) is then re-encrypted and
# re-sent on every request: 163-181 µs of CPU per read against 120-142 µs with fresh cookies (one node, minutes
# apart). Sessions are made again before a run once they are this old: every run measures a browser's requests.
FRESH_SESSIONS_S = 30.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sessionlab bench",
        description=__doc__.split("\n\n")[0] + " Needs wrk (" + INSTALL_HINTS["wrk"] + "); nginx and HAProxy "
        "rows need nginx and haproxy (" + INSTALL_HINTS["nginx"] + "; " + INSTALL_HINTS["haproxy"] + ").",
    )
    parser.add_argument("--quick", action="store_true", help="a short run (about a minute): 1 s runs, 2 rounds")
    parser.add_argument("--seconds", type=int, help="length of each run (default 5; --quick: 1)")
    parser.add_argument("--repeats", type=int, help="rounds over all rows (default 3; --quick: 2)")
    parser.add_argument("--warmup", type=int, help="an unrecorded first run per row, seconds (default 1; --quick: 0)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections = clients (default 50)")
    parser.add_argument("--memory-sessions", type=int, help="logins for the memory figure (100000; --quick 10000)")
    parser.add_argument("--only", help="comma-separated row names or patterns (e.g. 'balancer-*,nginx-*') to run")
    parser.add_argument("--out", type=absolute, help="where bench.json and bench.md go (default reports/bench-<time>/)")
    parser.add_argument("--results-page", type=absolute, metavar="PAGE",
                        help="also write the tables as a docs page with date, machine and command line "
                        "(e.g. docs/results/bench.md)")  # fmt: skip
    parser.add_argument(
        "--baseline", type=absolute, metavar="CHECKOUT",
        help="also run the balancer and the redis store of another source tree (e.g. a `git worktree` of main) "
        "to measure a change",
    )  # fmt: skip
    args = parser.parse_args(argv)
    for name in ("seconds", "repeats", "connections", "memory_sessions"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup is not None and args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    if args.only is not None and not [pattern for pattern in args.only.split(",") if pattern.strip()]:
        parser.error("--only needs row names or patterns, e.g. 'balancer-*,nginx-*'")
    quick = args.quick
    args.seconds = args.seconds or (1 if quick else 5)
    args.repeats = args.repeats or (2 if quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (0 if quick else 1)
    args.memory_sessions = args.memory_sessions or (10_000 if quick else 100_000)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.command = shlex.join(["sessionlab", "bench", *argv])
    wrk = find_tool("wrk")
    if wrk is None:
        print(f"sessionlab bench: wrk is required: {INSTALL_HINTS['wrk']}", file=sys.stderr)
        return 2
    started = datetime.now(UTC)
    args.data_path = balancer_data_path()
    print(f"sessionlab bench: balancer data path: {args.data_path}", flush=True)
    args.baseline_data_path = None if args.baseline is None else baseline_data_path(args.baseline, args.data_path)
    if args.baseline_data_path is not None:
        print(f"sessionlab bench: the baseline balancer's data path: {args.baseline_data_path}", flush=True)
    out: Path = args.out or report_dir("bench-")
    args.out = out
    out.mkdir(parents=True, exist_ok=True)
    placement = Placement.detect()
    servers = Servers(out / "logs")
    redis: RedisServer | None = None
    own_redis: RedisServer | None = None
    skipped: list[dict[str, str]] = []
    try:
        redis = RedisServer(log_dir=out / "logs").start()
        own_redis = RedisServer(log_dir=out / "logs").start()
        rows, memory_url = start_servers(args, servers, redis, skipped, own_redis)
        placement.pin_servers([*servers.pids(), *([redis.pid] if redis.pid else [])])
        placement.pin_own([own_redis.pid] if own_redis.pid else [])
        placement.pin_self_to_load()
        prepare(rows, out, args.connections)
        run_rounds(rows, placement, wrk, args)
        memory = measure_memory(memory_url, servers.pid("node-memory-size"), args)
    except (StartupError, RuntimeError) as error:
        print(f"sessionlab bench: {error}", file=sys.stderr)
        return 1
    finally:
        servers.stop_all()
        for server in (redis, own_redis):
            if server is not None:
                server.cleanup()
    report = build_report(rows, memory, skipped, placement, args, started, wrk)
    (out / "bench.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (out / "bench.md").write_text(table)
    written = [out / "bench.json", out / "bench.md"]
    if args.results_page is not None:
        args.results_page.parent.mkdir(parents=True, exist_ok=True)
        args.results_page.write_text(results_page(report))
        written.append(args.results_page)
    print(table)
    print(f"written: {', '.join(str(path) for path in written)}")
    return 0


def start_servers(
    args: argparse.Namespace,
    servers: Servers,
    redis: RedisServer,
    skipped: list[dict[str, str]],
    own_redis: RedisServer,
) -> tuple[list[Row], str]:
    """Start every server at once, wait until each answers, and return the rows (and the memory-figure node)."""
    nodes = [servers.node(name, "memory") for name in PROXY_NODES]
    stores = {store: servers.node(f"node-{store}", store, redis.url) for store in STORES}
    stores[OWN_REDIS] = servers.node(f"node-{OWN_REDIS}", "redis", own_redis.url)
    if args.baseline is not None:  # the redis store of another source tree, to measure a change of the store
        stores[BASELINE_REDIS] = servers.node(f"node-{BASELINE_REDIS}", "redis", redis.url, checkout=args.baseline)
    memory_url = servers.node("node-memory-size", "memory", memory_max=args.memory_sessions + 1000)
    modes = [mode for mode in REPLICATIONS if selected([replicated_row(mode, "")], args.only)]
    groups = {mode: servers.replicated_nodes(f"node-replicated-{mode}", mode) for mode in modes}
    rows = [*proxy_rows(args, servers, nodes, skipped), *store_rows(stores, redis.url)]
    rows = selected([*rows, *(replicated_row(mode, urls[0]) for mode, urls in groups.items())], args.only)
    if not rows:
        raise StartupError(f"--only {args.only!r} names no row (row names: `sessionlab bench` lists them in bench.md)")
    for row in rows:  # what a store row's request costs its node and Redis: robust when the machine is shared
        if row.name.startswith("store-replicated-"):  # the node under test and its two peers
            mode = row.name.removeprefix("store-replicated-").removesuffix("-write")
            row.cpu_pids = [servers.pid(f"node-replicated-{mode}-{index}") for index in range(3)]
        elif row.group == "store" and row.redis_url is None:
            store = _store_of(row)
            row.cpu_pids = [servers.pid(f"node-{store}"), int((own_redis if store == OWN_REDIS else redis).pid or 0)]
        elif row.group == "proxy" and row.name != "direct":  # the proxy's own cost (nginx: its workers too)
            row.cpu_pids = [servers.pid(row.name)]
    ready = {"node-0": nodes[0], "node-1": nodes[1], "node-memory-size": memory_url}
    ready |= {f"node-{store}": url for store, url in stores.items()}
    ready |= {f"node-replicated-{mode}-{i}": url for mode, urls in groups.items() for i, url in enumerate(urls)}
    checks = {name: url + "/readyz" for name, url in ready.items()}
    checks |= {row.name: row.url + "/healthz" for row in rows if row.sessions == "browser"}  # through to the nodes
    servers.wait_ready(checks)
    return rows, memory_url


def prepare(rows: list[Row], out: Path, connections: int) -> None:
    """Give every row's clients their sessions and write its wrk script."""
    scripts = out / "scripts"
    scripts.mkdir(exist_ok=True)
    for row in rows:
        if row.redis_url is not None:
            continue
        row.sessions_made = time.monotonic()
        if row.sessions == "browser":
            cookies = browser_sessions(row.url, row.workload.path, connections, row.route_tags)
        elif row.sessions == "login":
            cookies = login_sessions(row.url, connections, prefix=row.name)
        elif row.sessions == "hot":
            cookies = login_sessions(row.url, 1, prefix=row.name) * connections
        else:
            cookies = []
        row.script = lua_script(scripts / f"{row.name}.lua", row.workload, cookies)


def run_rounds(rows: list[Row], placement: Placement, wrk: str, args: argparse.Namespace) -> None:
    """An unrecorded warm-up per row, then `repeats` rounds over all rows, every other round in reverse order."""
    if args.warmup:
        for row in rows:
            measure(row, placement, wrk, args.warmup, args.connections)
    for round_index in range(args.repeats):
        order = rows if round_index % 2 == 0 else rows[::-1]
        for row in order:
            if row.sessions in ("login", "hot") and time.monotonic() - row.sessions_made > FRESH_SESSIONS_S:
                prepare([row], args.out, args.connections)
            result = measure(row, placement, wrk, args.seconds, args.connections)
            row.runs.append(result)
            print(f"round {round_index + 1}/{args.repeats}  {row.name:<22} {result['rps']:>9,.0f} req/s  "
                  f"p99 {result['p99_ms']:6.2f} ms", file=sys.stderr, flush=True)  # fmt: skip


def measure(row: Row, placement: Placement, wrk: str, seconds: int, connections: int) -> dict[str, Any]:
    if row.redis_url is None:
        assert row.script is not None
        before = cpu_seconds(row.cpu_pids)
        run = run_wrk(wrk, row.url, row.script, seconds=seconds, connections=connections, timeout=seconds + 60)
        spent = cpu_seconds(row.cpu_pids) - before
        return {
            **asdict(run),
            **({"cpu_us_per_req": spent * 1e6 / run.requests} if row.cpu_pids and run.requests else {}),
        }
    argv = python_module("loadtest.bench.probe", "floor", "--redis-url", row.redis_url, "--seconds", str(seconds),
                         "--concurrency", str(connections))  # fmt: skip
    with placement.on_server_cpu():  # the floor's client sits where a node would, beside redis-server
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"the redis floor probe failed: {result.stderr.strip()[-300:]}")
    return dict(json.loads(result.stdout))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and their children so far (0 for one that is gone)."""
    total = 0.0
    for pid in pids:
        try:
            process = psutil.Process(pid)
            family = [process, *process.children(recursive=True)]  # nginx and HAProxy work in child processes
        except psutil.Error:
            continue
        for member in family:
            with contextlib.suppress(psutil.Error):
                times = member.cpu_times()
                total += times.user + times.system
    return total


def _store_of(row: Row) -> str:
    """`store-redis-read-hot` -> `redis`; `store-none` -> `memory` (the no-session row runs on the memory node)."""
    store = row.name.split("-")[1]
    return "memory" if store == "none" else store


def measure_memory(url: str, pid: int, args: argparse.Namespace) -> dict[str, Any] | None:
    """RSS of a fresh memory-store node before and after N logins (N new sessions), as MB per 100,000."""
    if rss_mb(pid) is None:
        return None
    logins = ["--url", url, "--concurrency", str(args.connections)]
    _probe("logins", *logins, "--count", "1000")  # warm every code path first
    before = rss_mb(pid) or 0.0
    result = _probe("logins", *logins, "--count", str(args.memory_sessions))
    after = rss_mb(pid) or 0.0
    count = args.memory_sessions
    print(f"memory store: {count:,} logins in {result['seconds']:.1f} s, RSS {before:.1f} → {after:.1f} MB",
          file=sys.stderr, flush=True)  # fmt: skip
    return {
        "sessions": count,
        "failed": result["failed"],
        "rss_before_mb": before,
        "rss_after_mb": after,
        "mb_per_100k": (after - before) * 100_000 / count,
    }


def _probe(*args: str) -> dict[str, Any]:
    result = subprocess.run(python_module("loadtest.bench.probe", *args), capture_output=True, text=True,  # noqa: S603
                            timeout=600, check=False)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"bench probe {args[0]} failed: {result.stderr.strip()[-300:]}")
    return dict(json.loads(result.stdout))


def build_report(
    rows: list[Row],
    memory: dict[str, Any] | None,
    skipped: list[dict[str, str]],
    placement: Placement,
    args: argparse.Namespace,
    started: datetime,
    wrk: str,
) -> dict[str, Any]:
    summaries = [summarize(row.name, row.group, row.label, row.runs) for row in rows]
    add_ratios(summaries)
    tools = {"wrk": tool_version([wrk, "--version"])}
    for tool, flag in (("nginx", "-v"), ("haproxy", "-v"), ("redis-server", "--version")):
        binary = find_tool(tool)
        tools[tool] = tool_version([binary, flag]) if binary else "not installed"
    return {
        "date": f"{started:%Y-%m-%d %H:%M} UTC",
        "command": args.command,
        "machine": {**machine(), "tools": tools},
        "settings": {
            "seconds": args.seconds,
            "repeats": args.repeats,
            "warmup": args.warmup,
            "connections": args.connections,
            "placement": placement.describe().capitalize(),
            "balancer_data_path": args.data_path,
            "baseline_data_path": args.baseline_data_path,
            "elapsed_s": round(time.time() - started.timestamp()),
        },
        "rows": summaries,
        "memory": memory,
        "skipped": skipped,
        "targets": targets(summaries, memory),
    }
