"""What a scenario is: the cluster it needs, the events it applies on a timeline, and the theory it is judged by.

Routing policies and session stores sit behind one small interface each; scenarios do too. A scenario is one
module with one `Scenario` subclass, listed in `loadtest.compare.scenarios.SCENARIOS`, so `sessionlab compare
--scenario` offers it.
"""

from __future__ import annotations

import math
from abc import ABC
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from loadtest.compare.theory.expect import expect
from loadtest.compare.theory.model import Expectation, Exposure
from loadtest.lab.cluster import ClusterConfig

if TYPE_CHECKING:
    from loadtest.compare.spec import CellSpec, Kill
    from loadtest.lab.control import ClusterControl

# An action applied to the running cluster; what it returns is merged into the event's record
# (at least "outcome": one readable sentence; scenarios may add fields their theory reads).
Action = Callable[["ClusterControl"], dict[str, Any]]


@dataclass(frozen=True)
class Event:
    """One thing done to the running cluster `at` seconds after the load started."""

    at: float
    action: Action
    what: str


@dataclass(frozen=True)
class ErrorTheory:
    """Expected error count: `expected` None where timing decides (then reported, not predicted); `allowed_rate`
    is a fraction of the requests that may fail beyond it (a race the theory knows of but cannot time)."""

    expected: int | None
    explanation: str
    allowed_rate: float = 0.0

    def allowed(self, requests: int) -> int:
        return math.floor(self.allowed_rate * requests)

    def agrees(self, errors: int, requests: int = 0) -> bool | None:
        return None if self.expected is None else errors <= self.expected + self.allowed(requests)


@dataclass(frozen=True)
class RunTimeline:
    """What a cell's run looked like over time, for theories that need more than a before/after split."""

    rows: Sequence[Mapping[str, Any]]  # one per second (cells.timeline)
    events: Sequence[Mapping[str, Any]]  # the timeline runner's records
    users: Mapping[str, int]  # users started, per kind


class Scenario(ABC):  # noqa: B024 - every hook has a default; a scenario overrides what it changes
    """One way of loading (and disturbing) a cluster, judged against theory from the run's own exposure."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line, shown by --help and in the report
    users: ClassVar[tuple[str, ...] | None] = None  # locust user classes of its own; None: the cell's user kinds
    # The routings the scenario means something for (--routing overrides it); None: every routing. Its stores:
    # `variants` returns () for a store it does not apply to.
    routings: ClassVar[tuple[str, ...] | None] = None
    # The store set-up the scenario builds itself, named in the cell's posture (`redis (Sentinel)`); None: none.
    store_setup: ClassVar[str | None] = None
    # The event the report's "what it survives" lines name after it ("node kill", "deploy"); scenarios that share
    # a name share a line. None: nothing disrupts the cluster.
    survives: ClassVar[str | None] = None
    # The event hits the shared store, not a node: its outcome holds for the store whatever the routing, so the
    # Recommendation judges every routing of that store by it.
    about_the_store: ClassVar[bool] = False
    # Whether the balancer in front can change the outcome. False for what happens inside the store (a fault, parallel
    # writes on one pinned session): every balancer only passes the nodes' answers on, so the default matrix runs
    # such cells behind our balancer alone, whatever --balancer lists.
    through_the_balancer: ClassVar[bool] = True
    # Fields of `record()` that are verdicts (True, False, or None when not judged), by the measure they judge:
    # each joins the cell's verdict list, so a False makes the cell disagree with theory.
    judged: ClassVar[Mapping[str, str]] = {}

    def cluster(self, config: ClusterConfig) -> ClusterConfig:
        """The cluster this scenario needs, from the cell's (e.g. a spare node, a Sentinel set)."""
        return config

    def variants(self, store: str, consistency: tuple[str, ...]) -> tuple[str | None, ...]:
        """The SESSION_CONSISTENCY modes to run per store; (None,): the store's default only."""
        return (None,)

    def events(self, spec: CellSpec) -> list[Event]:
        """What to do to the running cluster, and when (seconds after the load started)."""
        return []

    def disruption(self, records: Sequence[Mapping[str, Any]]) -> Kill | None:
        """The event that splits the run into before/after for the theory (a node lost), if any."""
        return None

    def theory(self, spec: CellSpec, exposure: Exposure) -> Expectation:
        """Expected misses (with variance and an explanation) from what the run exposed."""
        return expect(spec.routing, spec.store, exposure, spec.replication)

    def duration(self, spec: CellSpec) -> float:
        """Seconds of load this scenario needs (its events must fit, with time to settle after the last)."""
        return spec.duration

    def in_default(self, store: str, routing: str) -> bool:
        """Whether the default matrix (no --store, --routing, --all or --quick) runs this cell; `store` is the
        posture (`spec.posture_label`: `redis (AOF)`, `replicated all-sync`). Keep the whole matrix under 10
        minutes: a cell whose theory is exactly 0 for every routing runs with one routing."""
        return False

    def timeline_theory(self, spec: CellSpec, run: RunTimeline) -> tuple[Expectation, dict[str, Any]] | None:
        """Theory from the whole timeline (membership changes), with extra record fields; replaces `theory`."""
        return None

    def error_theory(self, spec: CellSpec) -> ErrorTheory:
        return ErrorTheory(0, "no process fails and nothing is changed under load: no request should fail")

    def unmodelled(self, spec: CellSpec) -> str | None:
        """Why this scenario's theory cannot judge the cell's misses (None: it can); the cell then shows them."""
        return None

    def record(self, spec: CellSpec, totals: Mapping[str, int]) -> dict[str, Any]:
        """Extra fields of this scenario's cell record (those named in `judged` are verdicts)."""
        return {}

    def session_variants(self, spec: CellSpec, sweeps: Mapping[str, tuple[str, ...] | None]) -> list[CellSpec]:
        """The cells this one becomes under the session sweeps it reads (`--redis-eviction`, `--schema-compat`,
        by their CellSpec.session field names); most scenarios read none."""
        return [spec]

    def after_load(self, spec: CellSpec, control: ClusterControl) -> dict[str, Any]:
        """Measured on the cluster once the load has ended, before it stops (a rollback probe); record fields,
        those named in `judged` verdicts."""
        return {}
