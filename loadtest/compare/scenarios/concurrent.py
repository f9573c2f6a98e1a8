"""concurrent: users that fire parallel increments on one session, to count lost updates per consistency mode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loadtest.compare.scenarios.base import Scenario
from loadtest.compare.spec import REDIS_AOF
from loadtest.compare.theory.expect import expect_lost_updates
from loadtest.users import tally as T
from nodes.contract.names import COOKIE, LAST_WRITE_WINS, STICKY, consistency_modes

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec


class Concurrent(Scenario):
    name = "concurrent"
    description = "parallel increments on one session, once per SESSION_CONSISTENCY mode the store offers"
    users = ("ConcurrentUser",)
    routings = (STICKY,)  # pinned users keep memory sessions reachable: what differs is consistency
    judged = {"lost_update_agrees": "lost updates"}
    through_the_balancer = False  # one pinned session's writes meet in the store

    def in_default(self, store: str, routing: str) -> bool:
        # memory: one node runs a read-modify-write without yielding, 0 lost by construction; redis once (its
        # consistency does not depend on its persistence); the replicated store with --store replicated
        return store in (COOKIE, REDIS_AOF)

    def variants(self, store: str, consistency: tuple[str, ...]) -> tuple[str | None, ...]:
        modes = tuple(mode for mode in consistency_modes(store) if mode in consistency)
        return modes or (LAST_WRITE_WINS,)

    def record(self, spec: CellSpec, totals: Mapping[str, int]) -> dict[str, Any]:
        return lost_updates(spec, totals)


def lost_updates(spec: CellSpec, totals: Mapping[str, int]) -> dict[str, Any]:
    """Acknowledged increments, those lost, and what theory says of them."""
    acked, lost = T.measure_total(totals, T.ACKED), T.measure_total(totals, T.LOST)
    theory = expect_lost_updates(spec.store, spec.effective_consistency)
    return {
        "bursts": T.measure_total(totals, T.BURSTS),
        "bursts_unverified": T.measure_total(totals, T.UNVERIFIED),
        "increments_acked": acked,
        "increments_lost": lost,
        "increments_stale": T.measure_total(totals, T.STALE),  # missing from the read-back, there at the next look
        "conflicts_409": T.measure_total(totals, T.CONFLICTS),
        "lost_update_rate": lost / acked if acked else None,
        "lost_update_expected": theory.expected,  # 0 (cas) or None: measured, not predicted
        "lost_update_agrees": theory.agrees(lost) if acked else None,
        "lost_update_theory": theory.explanation,
    }
