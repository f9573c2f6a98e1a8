"""The session's own knobs of `sessionlab compare` (issue 23): size, idle gap, lifetimes, touch and save policy,
a full Redis, the schema of a mixed-version deploy; their options, their checks and the sweep they make.

The knobs of one cell are `spec.SessionKnobs`, which also says which env vars they become. `--time-scale` shrinks
every lifetime and every idle gap together, so a run stays short and the three lifetimes keep their order: a 300 s
gap against a 1800 s TTL at 0.01 is 3 s against 18 s.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from itertools import product

from loadtest.compare.spec import MIN_LIFETIME_S, SessionKnobs
from loadtest.compare.theory.session_life import COOKIE_LIMIT_TEXT
from nodes.contract.names import SAVE_MODES, SCHEMA_COMPAT_MODES, TOUCH_ALWAYS, TOUCH_LAZY_PREFIX, TOUCH_ON_CHANGE

TOUCH_POLICIES = (TOUCH_ALWAYS, TOUCH_ON_CHANGE)  # and lazy:<seconds>
SAVE_POLICIES = SAVE_MODES
EVICTION_POLICIES = ("allkeys-lru", "volatile-lru", "noeviction")
SCHEMA_COMPAT = SCHEMA_COMPAT_MODES
MAX_SESSION_KB = 1024.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The session's knobs (issue 23); lists sweep the matrix, one cell per value."""
    group = parser.add_argument_group("the session's own life (size, idle time, lifetimes, a full store)")
    group.add_argument("--session-kb", type=_floats(0, MAX_SESSION_KB), default=(0.0,), metavar="LIST",
                       help="KB of filler each session carries (SESSION_PAD_KB), one cell per value, e.g. 1,16,64; "
                            f"a cookie session over {COOKIE_LIMIT_TEXT} is refused with 413 (default 0)")  # fmt: skip
    group.add_argument("--idle-gap", type=_floats(0, 86400), default=(0.0,), metavar="LIST",
                       help="seconds users pause between stretches of activity, one cell per value, e.g. 0,30,300 "
                            "(scaled by --time-scale; default 0: no pause)")  # fmt: skip
    group.add_argument("--time-scale", type=float, default=1.0, metavar="F",
                       help="multiply every idle gap and lifetime (--session-ttl, --sticky-ttl, lazy touch) by F, "
                            "so a run stays short with their ratios kept, e.g. 0.05 (default 1)")  # fmt: skip
    group.add_argument(
        "--session-ttl",
        type=float,
        metavar="S",
        help="SESSION_TTL: seconds a session lives unused (scaled; default the nodes' 1800)",
    )
    group.add_argument("--sticky-ttl", type=float, metavar="S",
                       help="BALANCER_STICKY_TTL: Max-Age of our balancer's affinity cookie (scaled; default none: "
                            "a browser-session cookie)")  # fmt: skip
    group.add_argument("--session-touch", type=_touch, metavar="POLICY",
                       help="SESSION_TOUCH: when a read refreshes the session's lifetime: always, on-change or "
                            "lazy:<s> (at most every s seconds, scaled; default on-change)")  # fmt: skip
    group.add_argument("--session-save", choices=SAVE_POLICIES,
                       help="SESSION_SAVE: write the whole session back on every request (always) or only when "
                            "it changed (on-change, the default); cookie store: a cookie on every answer")  # fmt: skip
    group.add_argument("--cookie-denylist", action="store_true",
                       help="SESSION_COOKIE_DENYLIST=redis: the cookie store keeps revoked session ids in Redis, so a "
                            "logout is refused by every node (default off: usable until it expires)")  # fmt: skip
    group.add_argument(
        "--redis-maxmemory", type=float, metavar="MB", help="the lab Redis' maxmemory in MB (store-full default 3)"
    )
    group.add_argument("--redis-eviction", type=_subset(EVICTION_POLICIES), metavar="LIST",
                       help="the lab Redis' maxmemory-policy, one store-full cell per value: comma-separated subset of "
                            f"{','.join(EVICTION_POLICIES)} (default allkeys-lru,noeviction)")  # fmt: skip
    group.add_argument("--schema-compat", type=_subset(SCHEMA_COMPAT), default=SCHEMA_COMPAT, metavar="LIST",
                       help="mixed-version: SESSION_SCHEMA_COMPAT of the v2 nodes, one cell per value "
                            "(default migrate,reject)")  # fmt: skip


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse combinations that cannot run, with one line each (parse time, before any process starts)."""
    if not 0 < args.time_scale <= 1:
        parser.error("--time-scale must be above 0 and at most 1 (it shortens lifetimes and gaps together)")
    for flag, value in (("--session-ttl", args.session_ttl), ("--sticky-ttl", args.sticky_ttl)):
        if value is not None and value * args.time_scale < MIN_LIFETIME_S:
            parser.error(f"{flag} {value:g} at --time-scale {args.time_scale:g} is under {MIN_LIFETIME_S} s: the "
                         "nodes and the balancer count lifetimes in whole seconds; raise it or the scale")  # fmt: skip
    lazy = SessionKnobs(touch=args.session_touch).lazy_interval
    if lazy is not None and args.session_ttl is not None and lazy >= args.session_ttl:
        parser.error(f"--session-touch lazy:{lazy:g} must refresh more often than --session-ttl {args.session_ttl:g}"
                     " (a session would expire between two refreshes while its user is active)")  # fmt: skip
    if args.redis_maxmemory is not None and not 1 <= args.redis_maxmemory <= 4096:
        parser.error("--redis-maxmemory must be between 1 and 4096 MB (Redis itself needs about 1 MB)")
    if max(args.idle_gap) > 0 and getattr(args, "arrival_rate", None):
        parser.error("--idle-gap pauses closed-loop users: it cannot run with --arrival-rate (open loop)")
    if max(args.idle_gap) * args.time_scale > 120:
        parser.error(f"--idle-gap {max(args.idle_gap):g} at --time-scale {args.time_scale:g} pauses users "
                     f"{max(args.idle_gap) * args.time_scale:g} s: at most 120 s (lower --time-scale)")  # fmt: skip


def knobs_of(args: argparse.Namespace) -> SessionKnobs:
    """The knobs every cell shares (the lists are swept by `sweep`)."""
    return SessionKnobs(time_scale=args.time_scale, session_ttl=args.session_ttl, sticky_ttl=args.sticky_ttl,
                        touch=args.session_touch, save=args.session_save,
                        redis_maxmemory_mb=args.redis_maxmemory, cookie_denylist=args.cookie_denylist)  # fmt: skip


def sweep(base: SessionKnobs, args: argparse.Namespace) -> list[SessionKnobs]:
    """One knob set per session size x idle gap, in the order given."""
    return [replace(base, session_kb=kb, idle_gap=gap) for kb, gap in product(args.session_kb, args.idle_gap)]


def _floats(low: float, high: float) -> Callable[[str], tuple[float, ...]]:
    def parse(value: str) -> tuple[float, ...]:
        try:
            items = tuple(float(item) for item in value.split(",") if item.strip())
        except ValueError:
            items = ()
        if not items or any(not low <= item <= high for item in items):
            raise argparse.ArgumentTypeError(f"{value!r}: expected comma-separated numbers from {low:g} to {high:g}")
        return items

    return parse


def _touch(value: str) -> str:
    if value in TOUCH_POLICIES:
        return value
    interval = value.removeprefix(TOUCH_LAZY_PREFIX)
    try:
        seconds = float(interval) if value.startswith(TOUCH_LAZY_PREFIX) else -1.0
    except ValueError:
        seconds = -1.0
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{value!r}: expected always, on-change or lazy:<seconds above 0>")
    return f"{TOUCH_LAZY_PREFIX}{seconds:g}"


def _subset(allowed: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in value.split(",") if item.strip())
        if not items or any(item not in allowed for item in items):
            raise argparse.ArgumentTypeError(f"{value!r}: expected a comma-separated subset of {','.join(allowed)}")
        return items

    return parse
