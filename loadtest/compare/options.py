"""The options of `sessionlab compare`: every flag, its default and its help, parsed once."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from loadtest.compare import session_knobs
from loadtest.compare.fidelity import options as fidelity
from loadtest.compare.run import locustrun
from loadtest.compare.scenarios import SCENARIOS
from loadtest.compare.scenarios.rolling_deploy import DEPLOY_MODES
from loadtest.compare.spec import REDIS_AOF, REDIS_NAIVE, SYNC_REPLICATED
from loadtest.lab.balancers import BALANCERS, DEFAULT_BALANCER, parse_balancers
from loadtest.lab.paths import absolute
from loadtest.lab.replication import DEFAULT_REPLICATION, REPLICATIONS
from loadtest.lab.store_backend import PERSISTENCE
from nodes.contract.names import CONSISTENCY_MODES, HASH, NODE_STORES, RANDOM, ROUTING_MODES, STICKY, STORES

DEFAULT_USERS = 40
DEFAULT_OUTAGE = 3.0
DEFAULT_DURATION = 14.0
DEFAULT_REVOCATION_BOUND = 5.0
DEFAULT_DRAIN_SECONDS = 2.0
MAX_REPLICAS = 4  # --balancer-replicas: more only adds start-up time to every cell
# --quick: a subset of ROUTING_MODES, one spread, one pinned and one hashed routing
QUICK = {"users": 20, "duration": 7.0, "routing": (RANDOM, STICKY, HASH),
         "scenario": ("node-failure",)}  # fmt: skip
QUICK_REVOCATION_BOUND = 2.0
EXIT_OK, EXIT_STARTUP, EXIT_USAGE, EXIT_DISAGREES, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


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
    parser.add_argument("--balancer", type=_balancers, default=(DEFAULT_BALANCER,), metavar="LIST|all",
                        help=f"which balancers front the nodes, each cell once per balancer: comma-separated subset of "
                             f"{','.join(BALANCERS)}, or all (default {DEFAULT_BALANCER})")  # fmt: skip
    parser.add_argument("--balancer-replicas", type=int, default=1, metavar="N",
                        help="run N replicas of each balancer (1-4) in front of the same nodes, the users spread over "
                             "them, and measure affinity agreement: the share of sessions every replica sends to the "
                             "same node (default 1)")  # fmt: skip
    _add_sweep_arguments(parser)
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
        help="the lab Redis' persistence for every redis cell: none, or aof (appendonly yes, appendfsync everysec); "
        "default: none, except in the default matrix, which runs Redis with aof and, in store-failure, without "
        "persistence beside it",
    )
    parser.add_argument("--drain-seconds", type=float, default=DEFAULT_DRAIN_SECONDS,
                        help="rolling-deploy and scale-in: seconds a node drains before it is stopped or removed "
                             f"(default {DEFAULT_DRAIN_SECONDS:g})")  # fmt: skip
    parser.add_argument("--deploy-mode", choices=DEPLOY_MODES, default=DEPLOY_MODES[0],
                        help="rolling-deploy: drain (drain, SIGTERM, restart, ready; default) or kill (SIGKILL, no "
                             "drain, restart: the contrast)")  # fmt: skip
    parser.add_argument("--long-lived", type=float, default=0.0, metavar="SHARE",
                        help="the share of users (0-0.9) that keep a WebSocket open through the balancer, read its "
                             "ticks, send increments and reconnect with back-off; adds the long-lived measures "
                             "(default 0: none)")  # fmt: skip
    parser.add_argument("--long-lived-kind", choices=tuple(locustrun.LONG_LIVED_CLASSES), default="ws",
                        help="with --long-lived: which long-lived connection the users keep: ws (a WebSocket to /ws), "
                             "sse (server-sent events from /events, increments as POST /counter) or both, half "
                             "each (default ws)")  # fmt: skip
    parser.add_argument("--rebalance", type=float, default=0.0, metavar="SHARE",
                        help="with --long-lived: when a node joins (scale-out), the balancer closes this share of the "
                             "other nodes' WebSockets with 1001 so their clients spread (default 0)")  # fmt: skip
    parser.add_argument("--users", type=int, help=f"locust users per cell (default {DEFAULT_USERS})")
    parser.add_argument("--duration", type=float, help=f"seconds of load per cell (default {DEFAULT_DURATION:g})")
    parser.add_argument("--workers", type=int, default=0, help="locust worker processes (0: one local process)")
    parser.add_argument("--user-kinds", type=_choices(tuple(locustrun.USER_CLASSES)), default=("browser", "app"),
                        help="users to run: browser,app (default both; concurrent cells run their own)")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="a short smoke run: fewer users, 7 s cells, and (unless chosen) "
                             "random,sticky,hash x every store x node-failure")  # fmt: skip
    parser.add_argument("--out", type=absolute, help="output folder (default ./reports/<timestamp>/)")
    parser.add_argument("--results-page", type=absolute, metavar="PAGE",
                        help="also write the report (without its figures) as a docs page headed by date, machine and "
                             "command line, e.g. docs/results/compare.md")  # fmt: skip
    parser.add_argument("--strict", action="store_true", help=f"exit {EXIT_DISAGREES} if a cell disagrees with theory")
    fidelity.add_arguments(parser)
    session_knobs.add_arguments(parser)
    args = parser.parse_args(argv)
    fidelity.check_arguments(parser, args)
    session_knobs.check(parser, args)
    if min(args.nodes) < 2:
        parser.error("--nodes must be at least 2 (a node-failure cell kills one)")
    if args.workers < 0 or (args.users is not None and args.users < 1):
        parser.error("--workers must be >= 0 and --users >= 1")
    if args.revocation_bound is not None and args.revocation_bound < 0:
        parser.error("--revocation-bound must be >= 0")
    if not 0 <= args.drain_seconds <= 600:
        parser.error("--drain-seconds must be between 0 and 600")
    if not 1 <= args.balancer_replicas <= MAX_REPLICAS:
        parser.error(f"--balancer-replicas must be between 1 and {MAX_REPLICAS}")
    if not 0 <= args.long_lived <= 0.9:
        parser.error("--long-lived must be between 0 and 0.9")
    if not 0 <= args.rebalance <= 1:
        parser.error("--rebalance must be between 0 and 1")
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


def _balancers(value: str) -> tuple[str, ...]:
    try:
        return parse_balancers(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def default_scenarios() -> tuple[str, ...]:
    """The scenarios with a cell in the default matrix (any store posture, any routing)."""
    postures = (*STORES, REDIS_AOF, REDIS_NAIVE, *SYNC_REPLICATED)
    return tuple(name for name, scenario in SCENARIOS.items()
                 if any(scenario().in_default(p, r) for p in postures for r in ROUTING_MODES))  # fmt: skip


def _add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """--replication and --nodes: the sweeps beyond routing x store x scenario."""
    parser.add_argument("--replication", type=_modes, default=(DEFAULT_REPLICATION,),
                        help="the replicated store's modes, one cell each: comma-separated subset of "
                             f"{','.join(REPLICATIONS)} (default {DEFAULT_REPLICATION})")  # fmt: skip
    parser.add_argument(
        "--nodes",
        type=_counts,
        default=(3,),
        help="nodes per cluster; a comma-separated list (2,3,5) sweeps the node count (default 3)",
    )


def _modes(value: str) -> tuple[str, ...]:
    modes = tuple(item.strip() for item in value.split(",") if item.strip())
    if not modes or any(mode not in REPLICATIONS for mode in modes):
        raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated subset of {','.join(REPLICATIONS)}")
    return modes


def _counts(value: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(item) for item in value.split(",") if item.strip())
    except ValueError:
        counts = ()
    if not counts:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a node count or a comma-separated list (2,3,5)")
    return counts
