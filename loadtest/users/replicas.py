"""Balancer replicas in front of the same nodes (`--sessionlab-hosts URL,URL`): each new user takes the next one in
turn, as clients behind DNS round robin or an L4 balancer would, so two replicas get half the users each."""

from __future__ import annotations

import itertools
from typing import Any

from loadtest.users import tally as T

_TURN = itertools.count()


def add_arguments(parser: Any) -> None:
    """The option on locust's own parser."""
    parser.add_argument("--sessionlab-hosts", default="", env_var="LOCUST_SESSIONLAB_HOSTS", include_in_web_ui=False,
                        help="balancer replicas, comma-separated base URLs: each user takes the next one in turn "
                             "(empty: every user uses --host)")  # fmt: skip


def hosts(options: Any) -> list[str]:
    """The replicas' URLs given (none: use --host)."""
    text = str(getattr(options, "sessionlab_hosts", "") or "")
    return [host.strip() for host in text.split(",") if host.strip()]


def host_for_next_user(options: Any, default: str | None, tally: T.Tally) -> str | None:
    """The replica the next user talks to, counted in the tally (the default host when no replicas were given)."""
    given = hosts(options)
    if not given:
        return default
    host = given[next(_TURN) % len(given)]
    tally.count(T.REPLICA, host)
    return host
