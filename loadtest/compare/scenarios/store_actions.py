"""Actions of the store scenarios: take the shared store down (a SIGKILLed Redis, a SIGKILLed primary behind
Sentinel), bring it back, and measure what users saw with a `SessionProbe`: `outage_s` (first failed to first good
store answer) and `sessions_lost` (acknowledged before the fault, unknown after it)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from loadtest.compare.scenarios.base import Action
from loadtest.lab.control import ClusterControl
from loadtest.lab.processes import wait_until
from loadtest.lab.session_probe import SessionProbe

HEAL_TIMEOUT = 15.0  # seconds to wait for the first good store answer after Redis is back
CHECKED = 300  # the newest sessions written before the fault are the ones at risk; older ones are checked too
PROBE_EVENT = "start the session probe"  # measures, does not disrupt: the report's survival lines skip it
MEASURED = ("outage_s", "sessions_lost", "sessions_checked", "healed_after_s", "promoted_after_s")


@dataclass
class FaultClock:
    """What the actions of one cell share: the probe, and when the store went down."""

    probe: SessionProbe | None = None
    down_at: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def start_probe(clock: FaultClock) -> Action:
    def act(control: ClusterControl) -> dict[str, Any]:
        clock.probe = SessionProbe(control.cluster.url).start()
        return {"outcome": "session probe logging in through the balancer"}

    return act


def kill_store(clock: FaultClock) -> Action:
    """SIGKILL the cluster's redis-server."""

    def act(control: ClusterControl) -> dict[str, Any]:
        control.kill_redis()
        clock.down_at = time.monotonic()
        return {"outcome": "redis-server SIGKILLed"}

    return act


def restart_store(clock: FaultClock) -> Action:
    """Start it again on its port (its data: whatever its persistence kept), then wait for a good store answer."""

    def act(control: ClusterControl) -> dict[str, Any]:
        control.start_redis()
        back = time.monotonic()
        counted = control.cluster.config.store == "redis"  # other stores keep nothing in Redis to lose
        return {"outcome": "redis-server answering again", **settle(clock, back, count_lost=counted)}

    return act


def kill_primary(clock: FaultClock) -> Action:
    """SIGKILL the primary Sentinel watches; wait until the Sentinels name the promoted replica."""

    def act(control: ClusterControl) -> dict[str, Any]:
        store = control.cluster.store
        if store is None or store.sentinels is None:
            return {"outcome": "failed: this cluster runs no Sentinel set", "failed": True}
        old = store.sentinels.kill_primary()
        clock.down_at = time.monotonic()
        control.taken_down.add("redis-primary")
        promoted = store.sentinels.wait_promoted(old, timeout=30.0)
        promoted_after = round(time.monotonic() - clock.down_at, 3) if promoted else None
        seen = f"replica promoted {promoted_after:.1f}s later" if promoted_after is not None else "no promotion"
        return {"outcome": f"primary SIGKILLed; {seen}", "promoted_after_s": promoted_after,
                **settle(clock, time.monotonic())}  # fmt: skip

    return act


def settle(clock: FaultClock, back: float, count_lost: bool = True) -> dict[str, Any]:
    """Wait for the probe's first good login after `back`; then count the sessions the fault took."""
    probe = clock.probe
    if probe is None:
        return {}
    wait_until(lambda: any(t > back for t in list(probe.goods)), HEAL_TIMEOUT)
    probe.stop()
    first_good = next((t for t in probe.goods if t > back), None)
    written = probe.written_before(clock.down_at)[-CHECKED:]
    figures = {
        "outage_s": probe.outage_s(clock.down_at),
        "healed_after_s": None if first_good is None else round(first_good - back, 3),
    }
    if count_lost:
        figures |= {"sessions_checked": len(written), "sessions_lost": probe.missing(written)}
    return figures


def measured(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The store figures the events measured, lifted to the cell's record."""
    return {key: record[key] for record in records for key in MEASURED if key in record}
