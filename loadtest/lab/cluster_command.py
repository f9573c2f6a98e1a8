"""`sessionlab cluster`: a local cluster in the foreground, for locust's web UI or a curl session.

N nodes, the balancer and (for the redis store, unless REDIS_URL is set) a private redis-server on a free
port, or with --redis-cluster a local 3-master Redis Cluster. Prints the balancer URL and the locust commands
to point at it (one process, or a master with workers); Ctrl-C or SIGTERM stops everything. A failed start
stops whatever had started and exits 1 with a one-line reason.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from loadtest.lab.balancers import BALANCERS, DEFAULT_BALANCER
from loadtest.lab.cluster import CLUSTER_MASTERS, STATUS_PATH, ClusterConfig, LocalCluster
from loadtest.lab.page_hints import page_lines
from loadtest.lab.paths import LOCUSTFILE, absolute
from loadtest.lab.processes import StartupError
from loadtest.lab.replication import DEFAULT_REPLICATION, REPLICATIONS
from loadtest.lab.sentinel import SentinelSet
from nodes.contract.names import (
    BALANCER_UPSTREAMS_PATH,
    DEFAULT_ROUTING,
    DEFAULT_STORE,
    NODE_STORES,
    REPLICATED_STORE,
    ROUTING_MODES,
)

DEFAULT_PORT = 8080  # what [tool.locust] host points at
MAX_NODES = 64  # each node is a Python process: more than a lab machine runs


class Stop(Exception):
    """SIGTERM or SIGINT: leave the foreground loop and stop the cluster."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="sessionlab cluster",
        description="Run N nodes + the balancer (+ redis-server) locally in the foreground; Ctrl-C stops all.",
    )
    parser.add_argument("--nodes", type=int, default=3, help="number of nodes (default 3)")  # checked below
    parser.add_argument("--routing", choices=ROUTING_MODES,
                        default=_env_default("BALANCER_ROUTING", DEFAULT_ROUTING, ROUTING_MODES),
                        help="balancer routing (default: $BALANCER_ROUTING or random)")  # fmt: skip
    parser.add_argument("--store", choices=NODE_STORES, help="session store (default: $SESSION_STORE or memory)")
    parser.add_argument("--replication", choices=REPLICATIONS, default=DEFAULT_REPLICATION,
                        help=f"--store {REPLICATED_STORE}: how sessions are copied (default "
                             f"{DEFAULT_REPLICATION})")  # fmt: skip
    parser.add_argument("--redis-cluster", action="store_true",
                        help=f"start a local {CLUSTER_MASTERS}-master Redis Cluster and point the nodes at it "
                             "(redis+cluster:// URL); implies --store redis and ignores REDIS_URL")  # fmt: skip
    parser.add_argument("--redis-sentinel", action="store_true",
                        help="start a Redis primary, a replica and three Sentinels and point the nodes at them "
                             "(redis+sentinel:// URL); implies --store redis and ignores REDIS_URL")  # fmt: skip
    parser.add_argument(
        "--balancer",
        choices=tuple(BALANCERS),
        default=DEFAULT_BALANCER,
        help="which balancer fronts the nodes (default sessionlab, ours; see docs/balancers.md)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address everything binds to (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                        help=f"balancer port (default {DEFAULT_PORT}; 0 picks a free one)")  # fmt: skip
    parser.add_argument("--logs", type=absolute, help="folder for the processes' logs (default: a temporary folder)")
    args = parser.parse_args(argv)
    if not 1 <= args.nodes <= MAX_NODES:
        parser.error(f"--nodes must be from 1 to {MAX_NODES}")
    for problem in (host_problem(args.host), logs_problem(args.logs)):
        if problem:
            parser.error(problem)
    for flag, chosen in (("--redis-cluster", args.redis_cluster), ("--redis-sentinel", args.redis_sentinel)):
        if chosen and args.store not in (None, "redis"):
            parser.error(f"{flag} is a session store for --store redis, not --store {args.store}")
    if args.redis_cluster and args.redis_sentinel:
        parser.error("choose one of --redis-cluster and --redis-sentinel")
    own_redis = args.redis_cluster or args.redis_sentinel
    store = args.store or _env_default("SESSION_STORE", DEFAULT_STORE, NODE_STORES)
    args.store = "redis" if own_redis else store
    return args


def port_number(text: str) -> int:
    """An argparse `type=`: a TCP port, 0 to 65535 (0: a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: expected 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: expected 0 to 65535")
    return port


def host_problem(host: str) -> str | None:
    """Why --host cannot be used (it does not resolve), or None."""
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        reason = error.strerror if isinstance(error, socket.gaierror) else str(error)
        return f"--host {host}: cannot resolve host ({reason})"
    return None


def logs_problem(logs: Path | None) -> str | None:
    """Why --logs cannot hold the logs (not a folder, cannot be made, not writable), or None; makes the folder."""
    if logs is None:
        return None
    if logs.exists() and not logs.is_dir():
        return f"--logs {logs}: not a folder"
    try:
        logs.mkdir(parents=True, exist_ok=True)
        probe = logs / f".sessionlab-write-check-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        return f"--logs {logs}: cannot write the logs there ({reason})"
    return None


# The session's own life (docs/session-life.md): taken from the caller's shell to every node and our balancer, where
# the lab otherwise starts its children without the shell's SESSION_* and BALANCER_* settings (launcher.child_env).
SESSION_LIFE_VARS = ("SESSION_PAD_KB", "SESSION_TTL", "SESSION_TOUCH", "SESSION_SAVE", "SESSION_SCHEMA",
                     "SESSION_SCHEMA_COMPAT", "SESSION_COOKIE_DENYLIST", "BALANCER_STICKY_TTL")  # fmt: skip


def session_life_env(environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The session-life settings the caller's shell sets, to pass on."""
    return tuple((name, environ[name].strip()) for name in SESSION_LIFE_VARS if environ.get(name, "").strip())


def _env_default(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip() or default
    if value not in allowed:
        raise SystemExit(f"sessionlab cluster: {name}={value!r} is invalid: expected one of {', '.join(allowed)}")
    return value


def banner(cluster: LocalCluster, logs: Path) -> str:
    config = cluster.config
    lines = [
        f"sessionlab cluster: {config.nodes} node(s), {config.store} store"
        + (f" ({config.replication})" if config.store == REPLICATED_STORE else "")
        + f", {config.routing} routing "
        f"(up in {cluster.started_in:.1f}s)",
        f"  balancer  {cluster.url}   status: {cluster.url}{STATUS_PATH}"
        if cluster.frontend.name == DEFAULT_BALANCER
        else f"  {cluster.frontend.name:<9} {cluster.url}   pid {cluster.balancer_process().pid}   config: "
        + ", ".join(str(cluster.frontend.front.folder / name) for name in cluster.frontend.config_files()),
    ]
    lines += [f"  {m.name:<9} {m.url}   pid {m.process.pid}" for m in cluster.nodes]
    if config.extra_env:
        lines.append("  session   " + " ".join(f"{name}={value}" for name, value in config.extra_env))
    if cluster.redis is not None:
        lines.append(f"  redis     {cluster.redis.url}   pid {cluster.redis.pid}")
        lines.append(f"            {cluster.redis.binary.describe()}")
    elif cluster.redis_cluster is not None:
        pids = ", ".join(str(server.pid) for server in cluster.redis_cluster.servers)
        lines.append(f"  redis     {cluster.redis_cluster.url}   Redis Cluster, {CLUSTER_MASTERS} masters, pids {pids}")
        lines.append(f"            {cluster.redis_cluster.servers[0].binary.describe()}")
    elif cluster.store is not None and cluster.store.sentinels is not None:
        lines += sentinel_lines(cluster.store.sentinels)
    elif config.store == "redis":
        lines.append("  redis     (REDIS_URL from the environment)")
    locustfile = _shown(LOCUSTFILE)
    lines += [
        f"  logs      {logs}",
        "",
        *page_lines(cluster.url, config.store, config.routing),
        "",
        "Point locust's web UI at it (then open http://localhost:8089):",
        f"  locust -f {locustfile} -H {cluster.url}",
        "Or spread the load over a master and workers (start one worker per core; add --master-host HOST to run",
        "workers on other machines; add ConcurrentUser to both commands for the lost-update scenario):",
        f"  locust -f {locustfile} -H {cluster.url} --master",
        f"  locust -f {locustfile} --worker",
        *(
            runtime_api_lines(cluster)
            if cluster.frontend.name == DEFAULT_BALANCER
            else [f"Control plane: {cluster.frontend.control_plane}"]
        ),
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def sentinel_lines(sentinels: SentinelSet) -> list[str]:
    """The Sentinel set, and the PIDs to kill for a failover demo."""
    pids = sentinels.pids()
    return [
        f"  redis     {sentinels.url}   Sentinel-watched primary and replica",
        *(f"            {name:<22} pid {pid}" for name, pid in pids.items()),
        f"            failover demo: kill -9 {sentinels.primary.pid}   (the primary; Sentinel promotes the replica "
        "in ~2-3 s, the nodes answer 503 meanwhile and heal by themselves)",
        f"            {sentinels.binary.describe()}",
    ]


def runtime_api_lines(cluster: LocalCluster) -> list[str]:
    """The balancer's runtime API (a fresh token per run, shown only here) and curl lines to drain, add, remove."""
    api, node = cluster.url + BALANCER_UPSTREAMS_PATH, cluster.nodes[0].url
    auth = f'-H "Authorization: Bearer {cluster.admin_token}"'
    return [
        f"Runtime API: {api}   token (this run only): {cluster.admin_token}",
        f"  export BALANCER_ADMIN_TOKEN={cluster.admin_token} NODE_1={node}   # for the docs' examples",
        f'  curl -s -X POST {auth} -d \'{{"url": "{node}"}}\' {api}/drain     # no new clients for {node}',
        f'  curl -s -X POST {auth} -d \'{{"url": "{node}"}}\' {api}/ready     # new clients again',
        f'  curl -s -X DELETE {auth} -d \'{{"url": "{node}"}}\' {api}          # remove it',
        f'  curl -s -X POST {auth} -d \'{{"url": "http://127.0.0.1:PORT"}}\' {api}   # add a node you started',
    ]


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="sessionlab-cluster-"))
    own_redis = args.redis_cluster or args.redis_sentinel
    redis_url = None if own_redis else os.environ.get("REDIS_URL") or None
    life = session_life_env(os.environ)
    config = ClusterConfig(nodes=args.nodes, routing=args.routing, store=args.store, host=args.host, port=args.port,
                           redis_url=redis_url, redis_cluster=args.redis_cluster, log_dir=logs,
                           redis_sentinel=args.redis_sentinel, replication=args.replication,
                           balancer=args.balancer, extra_env=life,
                           with_redis=any(name == "SESSION_COOKIE_DENYLIST" for name, _ in life))  # fmt: skip

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Stop

    plugin = BALANCERS[config.balancer]
    offer, missing = plugin.mechanism(config.routing), plugin.missing()
    if not offer.offered or missing:
        why = missing or f"{config.balancer} does not offer {config.routing} routing: {offer.not_offered}"
        print(f"sessionlab cluster: {why}", file=sys.stderr)
        return 2
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    cluster = LocalCluster(config)
    try:
        cluster.start()
        print(banner(cluster, logs), flush=True)
        return _watch(cluster)
    except StartupError as error:
        print(f"sessionlab cluster: could not start: {one_line(str(error))}", file=sys.stderr)
        return 1
    except Stop:
        print("\nsessionlab cluster: stopping", flush=True)
        return 0
    finally:
        cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def one_line(message: str) -> str:
    """A start failure in one line: its first line, and the last line of the log tail that follows it (the cause)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) < 2:
        return lines[0] if lines else message
    return f"{lines[0]} (last log line: {lines[-1]})"


def _watch(cluster: LocalCluster) -> int:
    """Stay in the foreground; report nodes that die (a crash demo is fine), give up if the balancer dies."""
    reported: set[str] = set()
    while True:
        for member in cluster.exited():
            if member.name not in reported:
                reported.add(member.name)
                log = member.process.log_path
                print(f"sessionlab cluster: {member.name} {member.process.exit_text()}; log: {log}", flush=True)
        if "balancer" in reported:
            print("sessionlab cluster: the balancer is gone, stopping", file=sys.stderr)
            return 1
        time.sleep(0.5)
