"""Expected misses of the cells whose placement is a process, not a coin: simulated through the real routing code.

theory.py treats each spread request as an independent draw: a miss with p = (N-1)/N. That is exact for `random`,
but `round_robin`, and `sticky` for clients without its cookie (app users, browsers whose node died), place by a
shared counter: a miss and its immediate re-login take two slots in a row, and under an open-loop schedule every
user sends at a fixed point of a common period, so the slots fall into step. The process then locks into one of a
few cycles (with N = 3 and 13 app users among 40: 12.5%, 20% or 27.5% of all session requests miss, where
independence says 21.7%), and which one depends on timing. So for memory-store cells routed by `random`,
`round_robin` or `sticky`, in `steady` and `node-failure`, the expectation comes from replaying the run's own load
(its users per kind, duration, load model, response times and node kill) through the balancer's own policy many
times (loadtest/compare/theory/placement_sim.py): the mean count, and the variance across replications as the spread.
"""

from __future__ import annotations

import functools
import math
import statistics
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loadtest.compare.theory.model import FLOOR, FLOOR_AFTER_KILL, Expectation, Exposure
from loadtest.compare.theory.placement_sim import Disruption, LoadModel, Tally, replay, spawn_order
from loadtest.users import tally as T
from nodes.contract.names import MEMORY, RANDOM, ROUND_ROBIN, STICKY

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec, Kill

MODELLED_ROUTINGS = (RANDOM, ROUND_ROBIN, STICKY)
MODELLED_SCENARIOS = ("steady", "node-failure")
COUNTER_ROUTINGS = (ROUND_ROBIN, STICKY)  # place (some) clients by a shared round-robin counter
MAX_REPLICATIONS, MIN_REPLICATIONS = 80, 30
REQUEST_BUDGET = 150_000  # simulated requests per cell (~7 us each): about a second per cell


@dataclass(frozen=True)
class Replications:
    """Per replication: the misses this run would have had at that replication's rates, and its overall rate."""

    misses: tuple[float, ...]
    rates: tuple[float, ...]
    before: tuple[float, ...]
    after: tuple[float, ...]

    @property
    def count(self) -> int:
        return len(self.misses)


def modelled(spec: CellSpec) -> bool:
    """Whether this cell's misses come from the placement simulation (else theory.py's closed forms)."""
    return (
        spec.store == MEMORY
        and spec.routing in MODELLED_ROUTINGS
        and spec.scenario in MODELLED_SCENARIOS
        and spec.nodes > 1
        and not spec.user_classes
    )


def out_of_reach(spec: CellSpec) -> str | None:
    """Why theory cannot judge this cell (None: it can). A round-robin counter (round_robin, and sticky for clients
    without its cookie) under an open-loop schedule falls into step with it, so independent draws are wrong; the
    replay models that for steady and node-failure only, not through drains, joins and removals."""
    if not (spec.arrival_rate and spec.store == MEMORY and spec.routing in COUNTER_ROUTINGS and spec.nodes > 1):
        return None
    if spec.scenario in MODELLED_SCENARIOS or spec.user_classes:
        return None
    return (f"open loop at {spec.arrival_rate:g}/s through {spec.scenario}: {spec.routing} places clients without its "
            "cookie by one round-robin counter, whose slots fall into step with the schedule; the placement replay "
            "models steady and node-failure only, and independent draws would disagree by design, so the "
            "measurement is shown, not judged")  # fmt: skip


def expect_placement(
    spec: CellSpec, exposure: Exposure, stats: Mapping[str, Any], kill: Kill | None = None
) -> Expectation | None:
    """The simulated expectation of a modelled cell (None for any other cell); `stats` is what the locustfile
    wrote (its per-second response times are the replay's), `kill` the node kill that split the run."""
    if not modelled(spec) or not sum(exposure.users.values()):
        return None
    per_second = stats.get("per_second", {})
    start = float(stats.get("test_start") or 0.0)
    by_second = tuple(sorted((int(second) - start, _histogram(T.labels(counts, T.LATENCY)))
                             for second, counts in per_second.items()))  # fmt: skip
    whole = _histogram(T.labels(T.sum_counts(per_second.values()), T.LATENCY))
    load = LoadModel(spawn_order(exposure.users), spec.duration, whole, spec.arrival_rate, spec.poisson,
                     spec.workers, latency_by_second=by_second)  # fmt: skip
    disruption = Disruption(_node_index(kill.node), kill.at_s, kill.ejected_at_s) if kill else None
    runs = simulate(spec.routing, spec.nodes, load, disruption, exposure, replications(spec, load))
    return expectation(spec, exposure, runs)


def replications(spec: CellSpec, load: LoadModel) -> int:
    per_second = spec.arrival_rate or len(load.kinds) / (sum(load.wait_s) / 2)
    return max(MIN_REPLICATIONS, min(MAX_REPLICATIONS, int(REQUEST_BUDGET / max(per_second * spec.duration, 1))))


def simulate(routing: str, nodes: int, load: LoadModel, kill: Disruption | None, exposure: Exposure,
             count: int, seed: int | None = None) -> Replications:  # fmt: skip
    """`count` seeded replications, each scaled to the run's own session requests per kind and phase."""
    base = zlib.crc32(f"{routing}/{nodes}/{load.arrival_rate}/{kill}".encode()) if seed is None else seed
    misses, rates, before, after = [], [], [], []
    for tally in _replays(routing, nodes, load, kill, base, count):
        misses.append(scaled(tally, exposure))
        rates.append(_rate(tally, None))
        before.append(_rate(tally, False))
        after.append(_rate(tally, True))
    return Replications(tuple(misses), tuple(rates), tuple(before), tuple(after))


@functools.lru_cache(maxsize=16)
def _replays(routing: str, nodes: int, load: LoadModel, kill: Disruption | None, seed: int,
             count: int) -> tuple[Tally, ...]:  # fmt: skip
    """The replications themselves (kept: a report re-judging the same cells replays nothing twice)."""
    return tuple(replay(routing, nodes, load, kill, seed + index) for index in range(count))


def scaled(tally: Tally, exposure: Exposure) -> float:
    """The misses the run would have had at this replication's miss rate per user kind, before and after the kill."""
    total = 0.0
    for kind in set(exposure.before) | set(exposure.after):
        for after, measured in ((False, exposure.before.get(kind, 0)), (True, exposure.after.get(kind, 0))):
            if not measured:
                continue
            requests = tally.requests.get((kind, after), 0)
            if requests:
                total += measured * tally.misses.get((kind, after), 0) / requests
            else:  # the replication had none in this phase (a kill at the very end): the kind's overall rate
                total += measured * _kind_rate(tally, kind)
    return total


def expectation(spec: CellSpec, exposure: Exposure, runs: Replications) -> Expectation:
    """Mean and variance over the replications; the variance of the mean itself is added (finite replications)."""
    mean = statistics.fmean(runs.misses)
    variance = statistics.pvariance(runs.misses) * (1 + 1 / runs.count) if runs.count > 1 else 0.0
    n = exposure.session_requests
    before = statistics.fmean(runs.before)
    after = statistics.fmean(runs.after) if exposure.killed else None
    exact = mean == 0 and variance == 0
    return Expectation(mean, variance, n, before, after, explain(spec, runs), exact_zero=exact)


def explain(spec: CellSpec, runs: Replications) -> str:
    low, high = _quantile(runs.rates, 0.05), _quantile(runs.rates, 0.95)
    load = f"open loop at {spec.arrival_rate:g}/s" if spec.arrival_rate else "closed loop"
    how = {
        RANDOM: "each request to a node drawn at random, so (N-1)/N of spread requests miss",
        ROUND_ROBIN: "every request placed by one round-robin counter",
        STICKY: "browsers pinned by the SL_ROUTE cookie; app users (no cookies) and browsers whose node died placed "
        "by sticky's round-robin counter",
    }[spec.routing]
    step = " (in open loop the counter's slots fall into step: the run locks into one of a few cycles)"
    return (
        f"simulated: {runs.count} replications of this run's users, {load}, response times from its own answers "
        f"second by second, "
        f"{spec.nodes} nodes{', a node SIGKILLed' if spec.scenario == 'node-failure' else ''}, through the "
        f"balancer's own {spec.routing} policy: {how}{step if spec.routing != RANDOM and spec.arrival_rate else ''}; "
        f"sessions live on one node (the one that served the user's last login), so a request sent elsewhere "
        f"misses. Replications' miss rate "
        f"{statistics.fmean(runs.rates):.1%}, 5-95% {low:.1%}-{high:.1%}; tolerance 3 sigma of the replications plus "
        f"the lab's floor ({FLOOR:.0%}, {FLOOR_AFTER_KILL:.0%} after a kill: the health check's timing)"
    )


def _histogram(latency_ms: Mapping[str, int]) -> tuple[tuple[float, int], ...]:
    return tuple(sorted((float(value), int(count)) for value, count in latency_ms.items() if int(count) > 0))


def _node_index(node: str) -> int:
    """`node-1` -> 0: the lab names its nodes node-1..node-N in the balancer's membership order."""
    _, _, number = node.rpartition("-")
    return int(number) - 1 if number.isdigit() else 0


def _rate(tally: Tally, after: bool | None) -> float:
    requests = sum(n for (_, phase), n in tally.requests.items() if after is None or phase == after)
    misses = sum(n for (_, phase), n in tally.misses.items() if after is None or phase == after)
    return misses / requests if requests else 0.0


def _kind_rate(tally: Tally, kind: str) -> float:
    requests = sum(n for (k, _), n in tally.requests.items() if k == kind)
    return sum(n for (k, _), n in tally.misses.items() if k == kind) / requests if requests else 0.0


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(max(math.ceil(q * len(ordered)) - 1, 0), len(ordered) - 1)] if ordered else 0.0
