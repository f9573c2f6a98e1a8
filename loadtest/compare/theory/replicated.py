"""Misses of the replicated store (SESSION_STORE=replicated), per replication mode, derived from how it copies.

- all-sync: a write answers once every live node holds the new copy, so any node reads it: 0 misses with any
  routing, also after a node is SIGKILLed (the survivors hold every session).
- backup-sync: a session's primary and backup both hold it before the write answers, and every other node asks
  the primary (then the backup) at each read: 0 misses with any routing, also after one kill (one of the two
  holders survives it, and a node the kill makes an owner checks its cached copy with it before serving it).
  Premise of both: no copy fails. A send that fails or times out (an overloaded machine: the cell's
  `replication_traffic.failed_sends`) leaves that peer out while the balancer still sends it requests, and it
  answers from its older copies until the re-sync (docs/replication.md, the replicated store's limits):
  misses then are that limit showing, and the cell says so by disagreeing.
- async: the write answers once the writer and the session's primary hold it (with cas the primary decides);
  the copies to the others leave after the response and arrive within the lag L: the nodes' enqueue-to-
  acknowledgement time of their latest batch (`lag_ms_last`), averaged over the nodes, as the typical lag.
  (`lag_ms_max` is one worst batch, 400-480 ms in every loaded run, probably the first batch's connection set-up;
  it bounds the rate from above but is no estimate: the first check run used it and predicted 8.8% stale reads
  where 0.1% were measured.) A read misses (sees an older copy, or none
  after a login) when it follows the user's write, lands on a node the copy has not reached, and is sent within
  L of the write's answer:

      expected stale reads = R_spread x f_rw x s x P(gap < L)

  R_spread: session requests of users whose requests are spread (random, round_robin; sticky's app users);
  pinned users (sticky browsers, route, hash) read where they wrote, so theirs never miss; f_rw = reads x
  writes / (reads + writes)^2 from the locustfile's task weights (a read whose previous request was a write);
  s = the share of nodes without the copy: all: (N-1)^2/N^2 (one holder when the writer is the primary, p = 1/N,
  else two: (1/N)(N-1)/N + ((N-1)/N)(N-2)/N); backup: (N-1)/N^2 (only the backup holds a local copy that can be
  stale, and the writer is not the backup with p = (N-1)/N); P(gap < L) with gaps uniform on locust's wait
  [WAIT_MIN_S, WAIT_MAX_S] (reads two or more requests after the write wait at least 2 x WAIT_MIN_S, so they
  count only when L passes that). A kill also drops the dead node's unsent queue (about its writes of the last
  L seconds): below the tolerance floor, so it is left to the floor rather than predicted. Left out too, as a
  bound: locust sends a user's first task right after its login (no wait), so up to logins x s of those first
  requests can find no copy yet (401), a race at the millisecond scale (0-11 such 401s per 40-user cell measured).
  Both terms, and the detection of a stale read (a read shows only part of what a write changed), make the
  formula an estimate whose error the tolerance floor absorbs, not an exact count.
"""

from __future__ import annotations

from collections.abc import Mapping

from loadtest.compare.theory.model import Expectation, Exposure, pinning
from loadtest.users.pacing import WAIT_MAX_S, WAIT_MIN_S, read_after_write_share, share_of_gaps_under


def expect_replicated(routing: str, replication: str, exposure: Exposure) -> Expectation:
    """Expected misses of one replicated cell; `replication` is `<all|backup>-<sync|async>`."""
    scope, _, delivery = replication.partition("-")
    n = exposure.session_requests
    after = 0.0 if exposure.killed else None
    if delivery == "sync" or exposure.nodes == 1:
        return Expectation(0.0, 0.0, n, 0.0, after, _why_sync(scope), exact_zero=True)
    p = stale_probability(scope, exposure.nodes, exposure.lag_ms / 1000)
    spread = _spread_requests(routing, exposure.before) + _spread_requests(routing, exposure.after)
    misses = spread * p
    return Expectation(misses, misses * (1 - p), n, p if spread else 0.0, None if after is None else p,
                       _why_async(scope, exposure.nodes, exposure.lag_ms, p))  # fmt: skip


def stale_probability(scope: str, nodes: int, lag_s: float) -> float:
    """P(a spread session request reads a copy older than the user's last write): f_rw x s x P(gap < L)."""
    not_reached = (nodes - 1) ** 2 / nodes**2 if scope == "all" else (nodes - 1) / nodes**2
    return read_after_write_share() * not_reached * share_of_gaps_under(lag_s)


def _spread_requests(routing: str, requests: Mapping[str, int]) -> int:
    return sum(count for kind, count in requests.items() if pinning(routing, kind) == "spread")


def _why_sync(scope: str) -> str:
    if scope == "all":
        return ("all-sync: a write answers once every live node holds the copy, so any node reads it: 0 misses "
                "with any routing, also after a kill")  # fmt: skip
    return ("backup-sync: primary and backup hold the copy before the write answers and the others ask them at "
            "each read: 0 misses with any routing, also after one kill")  # fmt: skip


def _why_async(scope: str, nodes: int, lag_ms: float, p: float) -> str:
    return (
        f"{scope}-async: a read right after a write, on a node the copy has not reached, within the lag "
        f"L = {lag_ms:.1f} ms: p = f_rw x s x P(gap < L) = {p:.4f} per spread request (gaps "
        f"{WAIT_MIN_S * 1000:.0f}-{WAIT_MAX_S * 1000:.0f} ms, N = {nodes}); pinned users read where they wrote"
    )
