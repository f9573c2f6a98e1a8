"""Expected session misses when nodes come and go (rolling deploys, scale-out, scale-in), from a run's exposure.

Three things can happen to a node, and each routing mode cares about different ones (the balancer's rules):
- LEAVE: it takes no new work (drained, found down after a kill, removed): random and round robin leave it out
  of the rotation and hash drops it from the ring; sticky keeps the clients pinned to it.
- UNPIN: it serves its pinned clients no more (stopped, killed, removed): sticky re-pins each of them, round
  robin over the available nodes, on its next request.
- JOIN: it takes new work again (made ready, re-admitted after a restart, added).

A stopped memory node loses its sessions, but in every mode they became unreachable before: spread and hash
users at LEAVE, pinned users at UNPIN; so a restart adds no term of its own. With n nodes available:
- spread (random, round_robin; sticky for app users, which keep no SL_ROUTE cookie): each request misses with
  p = (n-1)/n; at a LEAVE the users/n whose session lived on the node miss for sure instead of with
  q = (n'-1)/n' (n' = n-1), so users/n * (1-q) more. JOIN costs nothing: who lands on the new node misses with
  the same p as anywhere else.
- cookie (sticky browsers): nothing per request; at an UNPIN each user pinned to the node misses once and is
  re-pinned evenly over the available nodes, so later nodes carry more pins. A rolling deploy of N nodes costs
  users * (N-1)/N * ((N/(N-1))^N - 1) misses (S_k = S_(k-1) * N/(N-1) + users/N), 1.58 * users for N = 3.
  LEAVE and JOIN cost nothing: pins stay, and a new node gets only new clients.
- hash: each login retries until its new id hashes to the node that made it, 1/n per try: n-1 misses per user
  at the start. At a ring change the users whose id moves (a share m of them) miss once, then n'-1 more on
  average on the new ring of n' nodes: users * m * n'. m is not simply the node's ring share: users that moved
  get new ids anywhere, but the ids that stayed put are, by having stayed, outside the arcs that changed. On an
  ideal ring of N, node k's arcs hold a weight w_k of the ids; its LEAVE moves w_k, its rejoin only the w_k/N
  re-made meanwhile that hash to it, so its turn in a rolling deploy costs users * N * w_k, and the whole deploy
  users * N^2/(N+1) * ((1 + (N+1)/N^2)^N - 1) (4.53 * users for N = 3). A scale-out moves 1/(N+1), and the new
  node then holds only 1/(N+1)^2 of the users. The lab follows the balancer's real ring (theory/ring.py).
  With a shared store nothing is lost and ids never move: hash requests follow the ring's shares.
cookie and redis stores: no misses, whatever happens (every node reads every session).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from loadtest.compare.theory.model import KINDS, SIGMAS, SPREAD_ROUTINGS, Expectation, too_few
from loadtest.compare.theory.ring import ProbeRing
from nodes.contract.names import ROUTE, ROUTING_MODES, STORES

LEAVE, JOIN, UNPIN = "leave", "join", "unpin"
CHANGES = (LEAVE, JOIN, UNPIN)
FLOOR = 0.02  # miss rate the model leaves out: health-check and restart timing, retries cut off by the run's end
# What this model covers: every routing but route and every lab store (not the replicated one), so far.
THEORY_ROUTINGS = tuple(mode for mode in ROUTING_MODES if mode != ROUTE)
THEORY_STORES = STORES


def uniform_shares(nodes: Sequence[str]) -> dict[str, float]:
    """Even shares: spread requests over the nodes taking work."""
    return {node: 1 / len(nodes) for node in nodes}


@dataclass(frozen=True)
class Change:
    """Something that happened to a node `at` seconds after the load started (one of CHANGES)."""

    at: float
    node: str
    what: str

    def __post_init__(self) -> None:
        if self.what not in CHANGES:
            raise ValueError(f"unknown change {self.what!r}: expected one of {', '.join(CHANGES)}")


@dataclass(frozen=True)
class ChurnExposure:
    """What a run exposed: the nodes at the start (all available), users per kind, the changes in time order, and
    per kind the session requests of each epoch (the stretches between changes: one more than the changes)."""

    nodes: tuple[str, ...]
    users: Mapping[str, int]
    requests: Mapping[str, Sequence[float]]
    changes: tuple[Change, ...] = ()

    def __post_init__(self) -> None:
        epochs = len(self.changes) + 1
        wrong = [kind for kind, counts in self.requests.items() if len(counts) != epochs]
        if wrong:
            raise ValueError(f"requests of {', '.join(wrong)} must cover {epochs} epochs ({len(self.changes)} changes)")
        if list(self.changes) != sorted(self.changes, key=lambda change: change.at):
            raise ValueError("changes must be in time order")

    @property
    def session_requests(self) -> int:
        return round(sum(sum(counts) for counts in self.requests.values()))

    def all_nodes(self) -> list[str]:
        """Every node of the run: those at the start, then those that joined."""
        return list(dict.fromkeys([*self.nodes, *(change.node for change in self.changes)]))

    def kinds(self) -> list[str]:
        return sorted(set(self.users) | set(self.requests))


@dataclass(frozen=True)
class Epoch:
    """One stretch between changes: who takes new work, the per-request miss rate, each node's share of requests."""

    start: float
    available: tuple[str, ...]
    rate: float
    node_share: Mapping[str, float]


@dataclass
class Part:
    """The misses one user kind is expected to have, with their variance, per epoch and per change."""

    misses: float = 0.0
    variance: float = 0.0
    rates: list[float] = field(default_factory=list)  # per-request miss rate in each epoch
    shares: list[dict[str, float]] = field(default_factory=list)  # where this kind's requests go in each epoch
    change_misses: list[float] = field(default_factory=list)  # misses each change causes beyond the rates

    def add(self, misses: float, variance: float) -> None:
        self.misses += misses
        self.variance += variance


@dataclass(frozen=True)
class ChurnExpectation:
    """Expected misses of a cell with membership changes, and what they come from."""

    misses: float
    variance: float
    session_requests: int
    epochs: tuple[Epoch, ...]
    change_misses: tuple[float, ...]
    explanation: str
    exact_zero: bool

    @property
    def rate(self) -> float:
        return self.misses / self.session_requests if self.session_requests else 0.0

    def tolerance(self) -> float:
        if self.exact_zero or not self.session_requests:
            return 0.0
        return SIGMAS * math.sqrt(self.variance) / self.session_requests + FLOOR

    def agrees(self, measured_rate: float) -> bool:
        """Within the band, and where the band reaches zero not implausibly few misses (as Expectation.agrees)."""
        within = abs(measured_rate - self.rate) <= self.tolerance() + 1e-12
        if not within or self.rate - self.tolerance() > 0:
            return within
        n = self.session_requests
        return not too_few(self.misses, self.variance, measured_rate * n, FLOOR * n)

    def as_expectation(self) -> Expectation:
        """The steady-scenario shape (rates of the first and last epoch), for code that reads that."""
        first, last = self.epochs[0].rate, self.epochs[-1].rate
        return Expectation(self.misses, self.variance, self.session_requests, first, last, self.explanation,
                           exact_zero=self.exact_zero)  # fmt: skip


def placement(routing: str, kind: str) -> str:
    """How the balancer places this kind's requests: "spread", "cookie" (sticky pins) or "hash"."""
    if routing not in THEORY_ROUTINGS:
        known = "is unknown" if routing not in ROUTING_MODES else "has no membership-change theory yet"
        raise ValueError(f"routing {routing!r} {known}: expected one of {', '.join(THEORY_ROUTINGS)}")
    if routing == "hash":
        return "hash"
    return "cookie" if routing == "sticky" and kind == "browser" else "spread"


def available_sets(exposure: ChurnExposure) -> list[tuple[str, ...]]:
    """The nodes taking new work in each epoch."""
    current = list(exposure.nodes)
    sets = [tuple(current)]
    for change in exposure.changes:
        if change.what == LEAVE and change.node in current:
            current.remove(change.node)
        elif change.what == JOIN and change.node not in current:
            current.append(change.node)
        if not current:
            raise ValueError(f"no node is left to take work after {change.what} {change.node} at {change.at:g}s")
        sets.append(tuple(current))
    return sets


def expect_churn(routing: str, store: str, exposure: ChurnExposure, ring: ProbeRing | None = None) -> ChurnExpectation:
    """Expected misses of one cell (routing x store) through the exposure's changes. `ring` is the balancer's hash
    ring over the cluster's URLs (default: over the node ids, as good as any for an ideal ring)."""
    if store not in THEORY_STORES:
        known = "is unknown" if store not in STORES else "has no membership-change theory yet"
        raise ValueError(f"store {store!r} {known}: expected one of {', '.join(THEORY_STORES)}")
    sets = available_sets(exposure)
    ring = ring or ProbeRing()
    parts = {kind: _part(placement(routing, kind), kind, exposure, sets, ring, store) for kind in exposure.kinds()}
    if store != "memory":
        for part in parts.values():
            part.misses = part.variance = 0.0
            part.rates = [0.0] * len(sets)
            part.change_misses = [0.0] * len(exposure.changes)
    misses = sum(p.misses for p in parts.values())
    variance = sum(p.variance for p in parts.values())
    epochs = tuple(_epoch(index, exposure, sets, parts) for index in range(len(sets)))
    per_change = tuple(sum(p.change_misses[i] for p in parts.values()) for i in range(len(exposure.changes)))
    explanation = explain(routing, store, len(exposure.nodes))
    return ChurnExpectation(misses, variance, exposure.session_requests, epochs, per_change, explanation,
                            exact_zero=misses == 0 and variance == 0)  # fmt: skip


def _part(mode: str, kind: str, exposure: ChurnExposure, sets: list[tuple[str, ...]], ring: ProbeRing,
          store: str) -> Part:  # fmt: skip
    users = exposure.users.get(kind, 0)
    requests = list(exposure.requests.get(kind, [0.0] * len(sets)))
    if mode == "spread":
        return _spread(users, requests, sets, exposure.changes)
    if mode == "cookie":
        return _pinned(users, sets, exposure.changes)
    return _hashed(users, sets, ring, resettle=store == "memory")


def _spread(users: int, requests: list[float], sets: list[tuple[str, ...]], changes: Sequence[Change]) -> Part:
    part = Part()
    for count, available in zip(requests, sets, strict=True):
        p = (len(available) - 1) / len(available)
        part.add(count * p, count * p * (1 - p))
        part.rates.append(p)
        part.shares.append(uniform_shares(available))
    for change, before, after in zip(changes, sets[:-1], sets[1:], strict=True):
        extra = 0.0
        if change.what == LEAVE and change.node in before and change.node not in after:
            stranded = users / len(before)  # whose session lived there: a sure miss instead of one with q
            extra = stranded * (1 - (len(after) - 1) / len(after))
        part.add(extra, extra)
        part.change_misses.append(extra)
    return part


def _pinned(users: int, sets: list[tuple[str, ...]], changes: Sequence[Change]) -> Part:
    """Follow one user's pin through the changes: the distribution over (node, misses so far)."""
    part = Part()
    state: dict[tuple[str, int], float] = {(node, 0): 1 / len(sets[0]) for node in sets[0]}
    part.shares.append(_where(state))
    for change, after in zip(changes, sets[1:], strict=True):
        before_mean = _mean(state)
        if change.what == UNPIN:
            state = _repin(state, change.node, [node for node in after if node != change.node])
        part.change_misses.append(users * (_mean(state) - before_mean))
        part.shares.append(_where(state))
    mean = _mean(state)
    part.add(users * mean, users * (sum(p * k * k for (_, k), p in state.items()) - mean * mean))
    part.rates = [0.0] * len(sets)
    return part


def _repin(state: Mapping[tuple[str, int], float], gone: str, targets: list[str]) -> dict[tuple[str, int], float]:
    moved: dict[tuple[str, int], float] = defaultdict(float)
    for (node, misses), p in state.items():
        if node != gone:
            moved[(node, misses)] += p
        else:
            for target in targets:  # round robin over the available nodes: even in the long run
                moved[(target, misses + 1)] += p / len(targets)
    return dict(moved)


def _mean(state: Mapping[tuple[str, int], float]) -> float:
    return sum(p * misses for (_, misses), p in state.items())


def _where(state: Mapping[tuple[str, int], float]) -> dict[str, float]:
    pins: dict[str, float] = defaultdict(float)
    for (node, _), p in state.items():
        pins[node] += p
    return dict(pins)


def _hashed(users: int, sets: list[tuple[str, ...]], ring: ProbeRing, resettle: bool) -> Part:
    """Follow where users' ids sit on the ring: a moved user logs in again and gets an id anywhere (uniform), so
    the ids that stayed put keep away from the arcs they were not sent off (which is why a node that rejoins
    gets back far fewer than its share). Without session loss (`resettle` False) ids never move."""
    part = Part()
    start = len(sets[0])
    part.add(users * (start - 1), users * (start - 1) * start)  # geometric: (1-p)/p and (1-p)/p^2 with p = 1/n
    weights = [1 / len(ring.keys)] * len(ring.keys)  # where one user's id sits: settled ids are uniform
    part.shares.append(_owned(weights, ring.owners(sets[0]), sets[0]))
    for before, after in zip(sets[:-1], sets[1:], strict=True):
        old, new = ring.owners(before), ring.owners(after)
        moved = sum(w for w, a, b in zip(weights, old, new, strict=True) if a != b) if resettle else 0.0
        n = len(after)
        extra = users * moved * n  # one sure miss, then n-1 more on average before a login's id stays put
        part.add(extra, users * moved * (n - 1) * n + users * moved * (1 - moved) * n * n)
        part.change_misses.append(extra)
        if moved:
            again = moved / len(weights)
            weights = [(w if a == b else 0.0) + again for w, a, b in zip(weights, old, new, strict=True)]
        part.shares.append(_owned(weights, new, after))
    part.rates = [0.0] * len(sets)
    return part


def _owned(weights: Sequence[float], owners: Sequence[str], nodes: Sequence[str]) -> dict[str, float]:
    share = dict.fromkeys(nodes, 0.0)
    for w, node in zip(weights, owners, strict=True):
        share[node] += w
    return share


def _epoch(index: int, exposure: ChurnExposure, sets: list[tuple[str, ...]], parts: Mapping[str, Part]) -> Epoch:
    """The epoch's expected miss rate and node shares, weighted by each kind's requests in it."""
    weights = {kind: float(exposure.requests.get(kind, [0.0] * len(sets))[index]) for kind in parts}
    total = sum(weights.values())
    if not total:  # nothing measured (yet): weigh the kinds by their users
        weights = {kind: float(exposure.users.get(kind, 0)) for kind in parts}
        total = sum(weights.values()) or 1.0
    rate = sum(parts[kind].rates[index] * w for kind, w in weights.items()) / total
    share: dict[str, float] = dict.fromkeys(exposure.all_nodes(), 0.0)
    for kind, w in weights.items():
        for node, s in parts[kind].shares[index].items():
            share[node] += s * w / total
    start = exposure.changes[index - 1].at if index else 0.0
    return Epoch(start, sets[index], rate, share)


def rolling_hashed_misses(nodes: int, users: float) -> float:
    """Closed form of the hash rolling deploy on an ideal ring (initial settling excluded)."""
    n = nodes
    return users * n * n / (n + 1) * ((1 + (n + 1) / n**2) ** n - 1)


def rolling_pinned_misses(nodes: int, users: float) -> float:
    """Closed form of the sticky rolling deploy: users * (N-1)/N * ((N/(N-1))^N - 1)."""
    return users * (nodes - 1) / nodes * ((nodes / (nodes - 1)) ** nodes - 1)


def explain(routing: str, store: str, nodes: int) -> str:
    """One paragraph: what theory says for this routing and store, with the numbers for this many nodes."""
    if store != "memory":
        where = "the client's encrypted cookie" if store == "cookie" else "Redis, shared by all nodes"
        return f"every node reads the session from {where}: no misses, whatever node comes or goes"
    n = nodes
    spread = (f"each request misses with (n-1)/n for n nodes taking work ({(n - 1) / n:.0%} with {n}, "
              f"{(n - 2) / max(n - 1, 1):.0%} with one out, {n / (n + 1):.0%} with one more); a drained, killed or "
              f"removed node strands its users/{n} sessions: each misses once for sure (placements assumed "
              f"independent: round robin with a miss and its re-login back to back can lock users onto the wrong "
              f"node, which this does not model)")  # fmt: skip
    if routing in SPREAD_ROUTINGS:
        return f"sessions live on one node and requests go anywhere: {spread}"
    if routing == "sticky":
        return (f"browser users stay pinned by SL_ROUTE through drains and scale-out (the new node gets only new "
                f"clients); each user pinned to a stopped or removed node misses once and is re-pinned over the "
                f"others, so a rolling deploy costs users*(N-1)/N*((N/(N-1))^N-1) = {rolling_pinned_misses(n, 1):.2f} "
                f"misses per browser user; app users are not pinned: {spread}")  # fmt: skip
    return (f"each login retries until its id hashes to the node that made it ({n - 1} misses per user at the "
            f"start); when a node leaves or joins the ring the ids it owns move, and each of those users misses "
            f"once, then n'-1 more on the new ring of n' nodes; the ids that stayed keep away from the changed arcs, "
            f"so a rejoining or new node gets back few users: a rolling deploy costs "
            f"N^2/(N+1)*((1+(N+1)/N^2)^N-1) = {rolling_hashed_misses(n, 1):.2f} misses per user, a scale-out "
            f"1/(N+1)*(N+1) = 1")  # fmt: skip


__all__ = ["CHANGES", "JOIN", "KINDS", "LEAVE", "UNPIN", "Change", "ChurnExposure", "ChurnExpectation", "Epoch",
           "THEORY_ROUTINGS", "THEORY_STORES", "expect_churn", "placement", "uniform_shares"]  # fmt: skip
