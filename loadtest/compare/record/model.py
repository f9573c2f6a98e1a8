"""A cell's record as the program holds it: frozen parts, an explicit list of verdicts, JSON only at the edge.

`results.json` keeps its flat schema (readers and the report read that file); `CellRecord.to_json()` is the one
place the typed record becomes it. A verdict is a value in `verdicts`, not a naming convention on keys: a cell
agrees with theory when no verdict in the list says it does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

DISAGREES = "DISAGREES WITH THEORY"  # a cell's verdict when a measure falls outside its theory
DID_NOT_RUN = "DID NOT RUN"
NOT_MODELLED = "not modelled"  # a cell whose mechanism the theory does not model: measured, not judged


@dataclass(frozen=True)
class Verdict:
    """One measure judged against its theory: `agrees` None when this run could not judge it."""

    key: str  # the results.json field that carries it ("miss_agrees_with_theory", "lost_update_agrees", ...)
    measure: str  # how the report names the measure ("miss rate", "lost updates", ...)
    agrees: bool | None


@dataclass(frozen=True)
class Identity:
    """Which choice ran, on how many nodes, under how much load."""

    routing: str
    store: str
    scenario: str
    consistency: str
    replication: str | None
    nodes: int
    users: int
    duration: float
    balancer: str = "sessionlab"  # which balancer fronted the nodes (loadtest/lab/balancers)


@dataclass(frozen=True)
class LoadSources:
    """How many locust processes produced the load: the master's count, and those whose requests arrived."""

    workers: int  # workers connected to the master (0: one local process)
    workers_requested: int
    load_processes: int  # locust processes that sent requests (the master sends none)
    requests_by_process: Mapping[str, int]


@dataclass(frozen=True)
class Traffic:
    """Requests, throughput and latency of the HTTP answers (the SESSION rows left out)."""

    elapsed_s: float
    requests: int
    rps: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class MissVerdict:
    """Measured misses beside the scenario's theory."""

    session_requests: int
    misses: int
    miss_rate: float
    expected_misses: float
    expected_miss_rate: float
    expected_rate_before_kill: float
    expected_rate_after_kill: float | None
    tolerance: float
    miss_agrees_with_theory: bool
    theory: str


@dataclass(frozen=True)
class ErrorVerdict:
    """Failed requests by status ("connection" when nothing answered) beside what the scenario expected."""

    errors: int
    error_rate: float
    errors_by_status: Mapping[str, int]
    expected_errors: int | None
    errors_allowed: int | None
    errors_agree_with_theory: bool | None
    error_theory: str


@dataclass(frozen=True)
class Sessions:
    """What the users went through: logins, re-logins after a miss, where their requests landed, per kind."""

    logins: int
    relogins: int
    node_share: Mapping[str, float]
    node_requests: Mapping[str, int]
    by_kind: Mapping[str, Mapping[str, Any]]
    miss_reasons: Mapping[str, int]


@dataclass(frozen=True)
class KillRecord:
    """The node the runner SIGKILLed (None where nothing was killed), when, and when the balancer noticed."""

    killed_node: str | None = None
    kill_at_s: float | None = None
    ejected_at_s: float | None = None


@dataclass(frozen=True)
class CellRecord:
    """One cell that ran: its typed parts, the figures its scenario, store and load model add, and its verdicts."""

    identity: Identity
    load: LoadSources
    traffic: Traffic
    misses: MissVerdict
    errors: ErrorVerdict
    sessions: Sessions
    kill: KillRecord
    verdicts: tuple[Verdict, ...]
    events: tuple[Mapping[str, Any], ...] = ()
    timeline: tuple[Mapping[str, Any], ...] = ()
    # Figures beyond the core, JSON-ready, by the part that measured them: the scenario's own, the load model's,
    # the exact latencies, the store's, the CPU shares, logout-all. Later groups may refine earlier keys.
    measures: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    not_modelled: str | None = None  # why theory does not judge this cell (a real balancer's own behaviour)

    @property
    def agrees_with_theory(self) -> bool:
        """No verdict says otherwise (a cell theory does not model is never a disagreement)."""
        return self.not_modelled is not None or all(verdict.agrees is not False for verdict in self.verdicts)

    def rejudged_misses(self, misses: MissVerdict) -> CellRecord:
        """This record with its misses judged again (a finer theory of part of them), the verdict list following."""
        agrees = misses.miss_agrees_with_theory
        verdicts = tuple(replace(v, agrees=agrees) if v.key == "miss_agrees_with_theory" else v for v in self.verdicts)
        return replace(self, misses=misses, verdicts=verdicts)

    def unjudged(self, reason: str | None) -> CellRecord:
        """This record measured only, with the reason theory does not judge it (None: judged as usual)."""
        return self if reason is None else replace(self, not_modelled=reason)

    @property
    def off_theory(self) -> list[str]:
        """The measures that disagreed, as the report names them."""
        return [verdict.measure for verdict in self.verdicts if verdict.agrees is False]

    def judged(self, verdict: Verdict) -> CellRecord:
        """This record with one more measure judged (checked after the run, e.g. against a baseline cell)."""
        return replace(self, verdicts=(*self.verdicts, verdict))

    def with_measures(self, group: str, figures: Mapping[str, Any]) -> CellRecord:
        """This record with `figures` added under `group` (merged into a group of that name if there is one)."""
        return replace(self, measures={**self.measures, group: {**self.measures.get(group, {}), **figures}})

    def figure(self, key: str) -> Any:
        """A figure by its results.json key, wherever it is held (None when this cell has none)."""
        return self.to_json().get(key)

    def to_json(self) -> dict[str, Any]:
        """The results.json record: the flat schema the report and every reader of the file know."""
        record: dict[str, Any] = {**asdict(self.identity), **asdict(self.load), **asdict(self.traffic)}
        record |= asdict(self.misses)
        record |= {
            "agrees_with_theory": self.agrees_with_theory,
            "verdict": "ok" if self.agrees_with_theory else DISAGREES,
        }
        record |= asdict(self.errors) | asdict(self.sessions) | asdict(self.kill)
        for figures in self.measures.values():
            record |= dict(figures)
        record |= {verdict.key: verdict.agrees for verdict in self.verdicts}
        if self.not_modelled is not None:
            record |= {
                "verdict": NOT_MODELLED,
                "agrees_with_theory": None,
                "theory": f"not modelled: {self.not_modelled}",
            }
            record |= {verdict.key: None for verdict in self.verdicts} | {"errors_agree_with_theory": None}
        record |= {"events": [dict(event) for event in self.events], "timeline": [dict(row) for row in self.timeline]}
        return record


@dataclass(frozen=True)
class FailedCell:
    """A cell that did not run to the end (DID NOT RUN), or was never to run ("not offered" by its balancer,
    "skipped" for a missing binary): the report still lists it, with the reason."""

    identity: Identity
    workers_requested: int
    failure: str
    verdict: str = DID_NOT_RUN
    details: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"not_offered": why}

    agrees_with_theory = False

    @property
    def by_design(self) -> bool:
        """Not run on purpose (a mode the balancer does not offer, a balancer not installed): not a failure."""
        return self.verdict != DID_NOT_RUN

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self.identity), "workers": 0, "workers_requested": self.workers_requested,
                "verdict": self.verdict, "failure": self.failure, "errors_by_status": {}, "events": [],
                **self.details}  # fmt: skip


Cell = CellRecord | FailedCell


def to_json(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    """The cells as results.json lists them."""
    return [cell.to_json() for cell in cells]
