"""The rows of a bench run: what each measures (proxy or store, workload, how its clients get a session) and which
rows a run has (`--only`, the data path the balancer's rows run)."""

from __future__ import annotations

import argparse
import fnmatch
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from balancer.compile_data_path import BuildError
from balancer.compile_data_path import build as build_data_path
from balancer.data_path import COMPILED, DATA_PATH_ENV, INTERPRETED
from loadtest.bench.load import Workload
from loadtest.bench.report import BALANCER_MODES
from loadtest.bench.servers import INSTALL_HINTS, Servers, find_tool
from nodes.contract.names import HASH, RANDOM, ROUND_ROBIN, ROUTE, STICKY

# nginx and HAProxy rows, as docs/bench.md describes them: nginx (open source) has no cookie stickiness, and
# HAProxy runs its roundrobin and its `cookie ... insert` (sticky).
NGINX_MODES = (ROUND_ROBIN, HASH)
HAPROXY_MODES = (ROUND_ROBIN, STICKY)
PROXY_NODES = ("node-0", "node-1")  # the two nodes behind every proxy row, by their node ids
INTERPRETED_ROW = "balancer-interpreted-random"  # the source itself, beside the compiled build's rows
PROXY_WORKLOAD = Workload("GET", "/healthz")
READ, WRITE = Workload("GET", "/me"), Workload("POST", "/counter")
REPLICATIONS = ("all-sync", "all-async", "backup-sync")  # a write row each: one node under test and two peers


@dataclass
class Row:
    """One line of the table: what is measured, how its clients get a session, and its runs."""

    name: str  # stable id in bench.json, e.g. "balancer-sticky"
    group: str  # "proxy" or "store"
    label: str
    url: str = ""
    workload: Workload = PROXY_WORKLOAD
    sessions: str = "none"  # "browser": a first request keeps the cookies it gets; "login"; "hot"; "none"
    route_tags: tuple[str, ...] = ()  # "browser" sessions: node ids their references are tagged with, in turn
    redis_url: str | None = None  # the floor row: a probe, not wrk
    cpu_pids: list[int] = field(default_factory=list)  # processes whose CPU time a request of this row costs
    script: Path | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    sessions_made: float = 0.0  # monotonic time its clients' sessions were made (logins are re-made when stale)


def balancer_data_path() -> str:
    """Compile this source's balancer build if it has none (sessionlab build-balancer); what the rows run.
    BALANCER_DATA_PATH=interpreted runs the source and builds nothing."""
    if os.environ.get(DATA_PATH_ENV) == INTERPRETED:
        return f"{INTERPRETED} ({DATA_PATH_ENV}={INTERPRETED})"
    try:
        built = build_data_path()
    except BuildError as error:
        return f"{INTERPRETED} ({error})"
    return f"{COMPILED} (mypyc build {built.folder.name}, {built.summary})"


def baseline_data_path(checkout: Path, ours: str) -> str:
    """A --baseline checkout's balancer runs as ours does, to compare like with like: its own compiled build when
    ours is compiled (built now if it can be: a checkout from before the compiled data path cannot), else
    interpreted."""
    if not ours.startswith(COMPILED):
        return INTERPRETED
    argv = [sys.executable, "-m", "balancer.compile_data_path"]  # run in the checkout: its own source is built
    env = {key: value for key, value in os.environ.items() if key != DATA_PATH_ENV}
    done = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True, timeout=900, check=False)
    return COMPILED if done.returncode == 0 else INTERPRETED


def proxy_rows(
    args: argparse.Namespace, servers: Servers, nodes: list[str], skipped: list[dict[str, str]]
) -> list[Row]:
    """The node direct, our balancer in every mode (and a baseline checkout's), nginx and HAProxy, over `nodes`."""
    rows = [Row("direct", "proxy", "one node direct (the limit)", nodes[0])]
    compiled = args.data_path.startswith(COMPILED)
    balancers: list[tuple[str, str, Path | None, str | None]] = [
        ("balancer", "balancer", None, COMPILED if compiled else INTERPRETED)
    ]
    if args.baseline is not None:
        balancers.append(("baseline", "baseline balancer", args.baseline.resolve(), args.baseline_data_path))
    for prefix, label, checkout, data_path in balancers:
        for mode in BALANCER_MODES:
            url = servers.balancer(f"{prefix}-{mode}", mode, nodes, checkout=checkout, data_path=data_path)
            tags = PROXY_NODES if mode == ROUTE else ()
            rows.append(Row(f"{prefix}-{mode}", "proxy", f"{label} {mode}", url, sessions="browser", route_tags=tags))
    if compiled:  # the same source interpreted, beside it: what the compiled build saves
        url = servers.balancer(INTERPRETED_ROW, RANDOM, nodes, data_path=INTERPRETED)
        rows.append(Row(INTERPRETED_ROW, "proxy", "balancer random, interpreted", url, sessions="browser"))
    for tool, modes in (("nginx", NGINX_MODES), ("haproxy", HAPROXY_MODES)):
        binary = find_tool(tool)
        if binary is None:
            skipped.append({"name": tool, "reason": f"{tool} is not installed ({INSTALL_HINTS[tool]})"})
            continue
        for mode in modes:
            url = getattr(servers, tool)(f"{tool}-{mode}", binary, mode, nodes)
            rows.append(Row(f"{tool}-{mode}", "proxy", f"{tool} {mode}", url, sessions="browser"))
    return rows


def store_rows(stores: dict[str, str], redis_url: str) -> list[Row]:
    """No session, then reads and writes on each store's node in both workloads, then the Redis round trip alone.

    Workloads: `cycled` (one session per client, so each request touches another session than the one before)
    and `hot` (every client shares one session: one popular account, or a burst of one user's tabs).
    """
    rows = [Row("store-none", "store", "no session (GET /healthz)", stores["memory"])]
    for store, url in stores.items():
        for kind, workload in (("read", READ), ("write", WRITE)):
            for suffix, sessions, text in (
                ("", "login", "a session per client, cycled"),
                ("-hot", "hot", "one hot session"),
            ):
                label = f"{store} store, {kind}s ({workload.method} {workload.path}), {text}"
                rows.append(Row(f"store-{store}-{kind}{suffix}", "store", label, url, workload, sessions=sessions))
    rows.append(Row("redis-floor", "store", "redis.asyncio GET+SET round trip alone (pairs/s)", redis_url=redis_url))
    return rows


def replicated_row(mode: str, url: str) -> Row:
    """Writes on one replicated node with two peers: what the copies cost a write (compare store-memory-write)."""
    label = f"replicated store {mode}, writes (POST /counter; 1 node + 2 peers)"
    return Row(f"store-replicated-{mode}-write", "store", label, url, WRITE, sessions="login")


def selected(rows: list[Row], only: str | None) -> list[Row]:
    """The rows `--only` names (comma-separated names or shell patterns); all of them without it."""
    if not only:
        return rows
    patterns = [pattern.strip() for pattern in only.split(",") if pattern.strip()]
    return [row for row in rows if any(fnmatch.fnmatchcase(row.name, pattern) for pattern in patterns)]
