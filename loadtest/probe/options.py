"""`sessionlab probe` options: argparse in, one frozen ProbeOptions out, every bad value one clear line."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from loadtest.probe.spec import BackendId, Endpoint, Event, Rule, Threshold, parse_seconds, parse_target
from nodes.contract.names import NODE_ID_HEADER, TOKEN_HEADER

DEFAULT_MAX_RATE = 200.0
KINDS = ("browser", "app")
RATE_PER_OPEN_USER = 4.0  # open loop without --users: one user per 4 requests/s (the lab's closed-loop pace)


class UsageError(Exception):
    """A bad flag value: printed as one line, exit 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (no usage block)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


@dataclass(frozen=True)
class ProbeOptions:
    """Everything one probe run needs, validated."""

    target: str
    duration: float
    users: int
    rate: float  # open loop: requests/s in total; 0: closed loop
    max_rate: float
    rate_capped: bool  # --rate asked for more than --max-rate
    backend_id: BackendId
    login: Endpoint
    check: Endpoint | None  # None: the lab's own mix of session requests
    seen: tuple[Rule, ...]
    missed: tuple[Rule, ...]
    logout: Endpoint | None
    token_header: str
    kinds: tuple[str, ...]
    events: tuple[Event, ...]
    fail_on: tuple[Threshold, ...]
    out: Path
    mark_port: int
    timeout: float

    @property
    def open_loop(self) -> bool:
        return self.rate > 0

    @property
    def lab_mix(self) -> bool:
        return self.check is None


def parser() -> argparse.ArgumentParser:
    what = "Measure the session-miss rate and backend affinity of a running deployment."
    p = OneLineParser(prog="sessionlab probe", description=what)
    p.add_argument("--target", required=True, help="base URL of the deployment, e.g. http://127.0.0.1:8080")
    p.add_argument("--duration", required=True, help="how long to send load (required), e.g. 20s, 2m")
    p.add_argument("--users", type=int, help="closed loop: this many users with think time (default 10); "
                   "with --rate: the users sharing the rate")  # fmt: skip
    p.add_argument("--rate", type=float, default=0.0, help="open loop: requests/s in total, on a schedule")
    p.add_argument("--max-rate", type=float, default=DEFAULT_MAX_RATE,
                   help=f"never send more than this many requests/s, logins included "
                        f"(default {DEFAULT_MAX_RATE:g})")  # fmt: skip
    p.add_argument("--backend-id", default=f"header:{NODE_ID_HEADER}",
                   help=f"which backend answered: header:NAME, json:FIELD, cookie:NAME or none "
                        f"(default header:{NODE_ID_HEADER})")  # fmt: skip
    p.add_argument("--login", default="POST /login", help='how a user logs in (JSON body {"user": NAME})')
    p.add_argument("--check", help="the request that shows the session, e.g. 'POST /counter' or 'GET /me' "
                   "(default: the lab nodes' mix of /me, /counter and /cart calls)")  # fmt: skip
    p.add_argument("--seen", action="append", default=[], help="status:N or redirect:/path: the session was seen")
    p.add_argument("--missed", action="append", default=[], help="status:N or redirect:/path: the session was lost")
    p.add_argument("--logout", default="POST /logout", help="how a user logs out at the end ('none': never)")
    p.add_argument("--kinds", default="browser",
                   help="user kinds: browser (cookie jar), app (token header, no cookies) or browser,app "
                        "(2:1, as compare mixes them); default browser")  # fmt: skip
    p.add_argument("--token-header", default=TOKEN_HEADER, help=f"app users' session header (default {TOKEN_HEADER})")
    p.add_argument("--event", action="append", default=[], help="'30s: command': run a command then (repeatable)")
    p.add_argument("--fail-on", action="append", default=[],
                   help="exit 1 when crossed, e.g. 'miss_rate>0.01' or 'p99_ms>250' (repeatable)")  # fmt: skip
    p.add_argument("--out", type=Path, default=Path("probe-results"), help="folder for results and report")
    p.add_argument("--mark-port", type=int, default=0, help="port of the local POST /_probe/mark endpoint (0: free)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds one request may take (default 10)")
    return p


def parse(argv: list[str]) -> ProbeOptions:
    """Parse and validate; raises UsageError with the one line to print."""
    args = parser().parse_args(argv)
    try:
        return _build(args)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _build(args: argparse.Namespace) -> ProbeOptions:
    duration = parse_seconds(args.duration)
    if duration <= 0:
        raise ValueError("--duration must be more than 0s")
    if args.rate < 0 or args.max_rate <= 0 or args.timeout <= 0:
        raise ValueError("--rate, --max-rate and --timeout must be positive")
    if args.users is not None and args.users < 1:
        raise ValueError("--users must be at least 1")
    rate = min(args.rate, args.max_rate)
    users = args.users or (math.ceil(rate / RATE_PER_OPEN_USER) if rate else 10)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"--kinds {args.kinds!r}: expected browser, app or browser,app")
    check = Endpoint.parse(args.check, "--check") if args.check else None
    seen = tuple(Rule.parse(text, "--seen") for text in args.seen)
    missed = tuple(Rule.parse(text, "--missed") for text in args.missed)
    if check is None and (seen or missed):
        raise ValueError("--seen and --missed judge a --check request: give --check too")
    events = tuple(sorted((Event.parse(text) for text in args.event), key=lambda e: e.at))
    late = [e for e in events if e.at >= duration]
    if late:
        raise ValueError(f"--event at {late[0].at:g}s is not before the end of --duration {duration:g}s")
    return ProbeOptions(
        target=parse_target(args.target), duration=duration, users=users, rate=rate, max_rate=args.max_rate,
        rate_capped=args.rate > args.max_rate, backend_id=BackendId.parse(args.backend_id),
        login=Endpoint.parse(args.login, "--login"), check=check, seen=seen, missed=missed,
        logout=None if args.logout.strip().lower() == "none" else Endpoint.parse(args.logout, "--logout"),
        token_header=args.token_header, kinds=kinds, events=events,
        fail_on=tuple(Threshold.parse(text) for text in args.fail_on), out=args.out.resolve(),
        mark_port=args.mark_port, timeout=args.timeout,
    )  # fmt: skip
