"""What the miss rate of each routing x store cell should be, so a report can say when a run disagrees.

Expectations are miss COUNTS computed from the run's own exposure (users started and session requests
before and after the kill, per user kind), with a variance, so the tolerance shrinks as a run grows.
The model, for N nodes (N-1 left after a kill):

- cookie, redis: every node sees every session, so 0 misses, also when a node dies.
- memory, session requests spread over the nodes (random, round_robin; sticky for app users, which
  keep no cookies and so never get the SL_ROUTE affinity): a request finds its session only on the node
  that created it, so each misses with p = (N-1)/N, and (N-2)/(N-1) after the kill; plus, at the kill,
  the ~users/N sessions living on the dead node all miss once for sure instead of with (N-2)/(N-1).
  This treats placements as independent, which only random's are: the steady and node-failure cells of these
  routings take their expectation from a replay through the real policy instead (theory/placement.py).
  This treats placements as independent, which only random's are: the steady and node-failure cells of these
  routings take their expectation from a replay through the real policy instead (theory/placement.py).
- memory + sticky, browser users: pinned, so 0; the kill costs each user pinned to the dead node one
  miss (~browser users/N).
- memory + route: every node tags its references with its id (SESSION_ROUTE_TAG) and the balancer follows
  the tag, for browser and app users alike: 0 misses; the kill costs each user of the dead node one miss.
- replicated: see theory_replicated.py (0 for sync modes, a stale-read rate from the measured lag for async).
- memory + hash: a login lands on some node A, the new session id then hashes to node B; it works
  only when B = A, with p = 1/N per login, so each user misses a geometric number of times, N-1 on
  average, then never again. After the kill the ~users/N whose session hashed to the dead node miss once,
  then N-2 more times on average (1/(N-1) per login) on a consistent-hash ring of N-1 nodes; the other
  users keep their node, as a consistent hash moves only the dead node's keys.

The concurrent scenario's users are browsers (cookies), so the same model gives their misses. Its lost
updates are predicted only where a guarantee exists: with `cas` every acknowledged increment is kept, so
exactly 0 are lost; with `last_write_wins` (the cookie store's only mode) the loss depends on timing and
load, so it is measured and reported, not predicted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from loadtest.compare.theory.model import SPREAD_ROUTINGS, Expectation, Exposure, pinning
from loadtest.compare.theory.replicated import expect_replicated
from nodes.contract.names import (
    CAS,
    NODE_STORES,
    REPLICATED_STORE,
    ROUTING_MODES,
    consistency_modes,
)


@dataclass(frozen=True)
class _Part:
    misses: float = 0.0
    variance: float = 0.0
    rate_before: float = 0.0
    rate_after: float = 0.0


def expect(routing: str, store: str, exposure: Exposure, replication: str | None = None) -> Expectation:
    """The expected misses of one cell, given what the run exposed (`replication`: store=replicated's mode)."""
    _check(routing, store, exposure.nodes)
    if store == REPLICATED_STORE:
        return expect_replicated(routing, replication or "all-sync", exposure)
    n = exposure.session_requests
    if store != "memory" or exposure.nodes == 1:
        return Expectation(0.0, 0.0, n, 0.0, 0.0 if exposure.killed else None, _why_zero(store), exact_zero=True)
    parts = {kind: _memory_part(pinning(routing, kind), kind, exposure) for kind in _kinds(exposure)}
    misses = sum(p.misses for p in parts.values())
    variance = sum(p.variance for p in parts.values())
    before = _weighted(parts, exposure.before, "rate_before")
    after = _weighted(parts, exposure.after, "rate_after") if exposure.killed else None
    exact = misses == 0 and variance == 0
    return Expectation(misses, variance, n, before, after, _why_memory(routing, exposure.nodes), exact_zero=exact)


def _memory_part(mode: str, kind: str, exposure: Exposure) -> _Part:
    nodes, users = exposure.nodes, exposure.users.get(kind, 0)
    before, after = exposure.before.get(kind, 0), exposure.after.get(kind, 0)
    if mode == "spread":
        return _spread(nodes, users, before, after, exposure.killed)
    if mode in ("cookie", "tag"):  # pinned: the kill costs the dead node's users one miss each
        return _sticky_cookie(nodes, users, exposure.killed)
    return _hash(nodes, users, exposure.killed)


def _spread(nodes: int, users: int, before: int, after: int, killed: bool) -> _Part:
    p = (nodes - 1) / nodes
    misses, variance = before * p, before * p * (1 - p)
    q = (nodes - 2) / (nodes - 1)
    if killed:
        stranded = users / nodes  # sessions living on the dead node: certain misses instead of q
        misses += after * q + stranded * (1 - q)
        variance += after * q * (1 - q) + stranded * (1 - q)
    return _Part(misses, variance, p, q if killed else 0.0)


def _sticky_cookie(nodes: int, users: int, killed: bool) -> _Part:
    if not killed:
        return _Part()
    share = 1 / nodes
    return _Part(users * share, users * share * (1 - share), 0.0, 0.0)


def _hash(nodes: int, users: int, killed: bool) -> _Part:
    p = 1 / nodes  # a new session id hashes to the node that created it
    misses, variance = users * (1 - p) / p, users * (1 - p) / p**2  # geometric failures before a success
    if killed:
        share = 1 / nodes
        per_user = float(nodes - 1)  # the first miss, then geometric with 1/(N-1): N-2 more on average
        per_user_var = float((nodes - 2) * (nodes - 1))
        misses += users * share * per_user
        variance += users * share * per_user_var + users * share * (1 - share) * per_user**2
    return _Part(misses, variance, 0.0, 0.0)


def _weighted(parts: Mapping[str, _Part], weights: Mapping[str, int], attribute: str) -> float:
    total = sum(weights.get(kind, 0) for kind in parts)
    if not total:
        return 0.0
    return float(sum(getattr(part, attribute) * weights.get(kind, 0) for kind, part in parts.items())) / total


def _kinds(exposure: Exposure) -> list[str]:
    return sorted(set(exposure.users) | set(exposure.before) | set(exposure.after))


def _check(routing: str, store: str, nodes: int) -> None:
    if routing not in ROUTING_MODES:
        raise ValueError(f"unknown routing {routing!r}: expected one of {', '.join(ROUTING_MODES)}")
    if store not in NODE_STORES:
        raise ValueError(f"unknown store {store!r}: expected one of {', '.join(NODE_STORES)}")
    if nodes < 1:
        raise ValueError(f"a cluster needs at least one node, got {nodes}")


def _why_zero(store: str) -> str:
    if store == "memory":
        return "a single node holds every session"
    where = "the client's encrypted cookie" if store == "cookie" else "Redis, shared by all nodes"
    return f"every node reads the session from {where}: no misses, with or without a node failure"


def _why_memory(routing: str, nodes: int) -> str:
    spread = f"(N-1)/N = {(nodes - 1) / nodes:.0%} of session requests miss, (N-2)/(N-1) after a kill"
    if routing in SPREAD_ROUTINGS:
        return f"sessions live on one node of {nodes} and requests go anywhere: {spread}"
    if routing == "route":
        return (
            "every node tags the references it issues with its id (cookie and X-Session-Token alike), so browser "
            "and app users are pinned to the node holding their session: 0 misses; a kill costs each user of "
            "the dead node one miss (~users/N), then its redispatched login is tagged by a survivor"
        )
    if routing == "sticky":
        return (
            "browser users are pinned by the SL_ROUTE cookie (0 misses; one each for the dead node's users "
            f"after a kill); app users keep no cookies, so they are not pinned: {spread}"
        )
    return (
        f"each login retries until its new session id hashes to the node that made it: about N-1 = {nodes - 1} "
        "misses per user, then none; a kill costs the dead node's users N-1 more each"
    )


# -- lost updates (the concurrent scenario) ------------------------------------------------------------


@dataclass(frozen=True)
class LostUpdates:
    """What theory says about lost increments: `expected` is 0 where guaranteed, None where only measured."""

    expected: int | None
    explanation: str

    def agrees(self, lost: int) -> bool | None:
        return None if self.expected is None else lost == self.expected


def expect_lost_updates(store: str, consistency: str) -> LostUpdates:
    """Theory for the concurrent scenario's lost increments."""
    if consistency not in consistency_modes(store):
        raise ValueError(f"SESSION_CONSISTENCY={consistency!r} is not possible with the {store} store")
    if consistency == CAS:
        return LostUpdates(0, "cas: a save succeeds only on the version it read, else the increment is re-applied "
                           "to the fresh copy, so exactly 0 acknowledged increments may be lost")  # fmt: skip
    if store == "cookie":
        why = ("the client holds the session: parallel requests each change their own copy and the cookie that "
               "arrives last wins; cas is impossible")  # fmt: skip
    elif store == "memory":
        why = ("a node runs a request's read-modify-write of its own memory without yielding, so one node loses "
               "nothing; a multi-threaded server would")  # fmt: skip
    else:
        why = "parallel read-modify-write cycles overwrite each other in Redis"
    return LostUpdates(None, f"last_write_wins: {why}; how many depends on timing and load, so it is reported, "
                       "not predicted")  # fmt: skip
