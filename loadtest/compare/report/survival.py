"""Each store's "what it survives" lines: node kill, deploy, scale, store restart, store failover, distance.

Every line is computed from the run's cells of that event, never written by hand: what users lost (misses, and
for a store fault the sessions acknowledged before it and missing after it), what failed outright, and how long
the store answered 503s. An event the run did not include says which scenario measures it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loadtest.compare.report.table import ran, sessions_lost_text, store_text
from loadtest.compare.scenarios import SCENARIOS
from loadtest.compare.scenarios.store_actions import PROBE_EVENT
from loadtest.render.format import pct

Cell = dict[str, Any]
BOOKKEEPING = (PROBE_EVENT,)  # events that measure, not disrupt: not "the event" of a cell


@dataclass(frozen=True)
class Event:
    name: str
    scenarios: tuple[str, ...]


def events() -> tuple[Event, ...]:
    """The events scenarios declare (`Scenario.survives`), in the registry's order; a new scenario adds its own."""
    grouped: dict[str, list[str]] = {}
    for scenario in SCENARIOS.values():
        if scenario.survives:
            grouped.setdefault(scenario.survives, []).append(scenario.name)
    return tuple(Event(name, tuple(names)) for name, names in grouped.items())


EVENTS = events()


def survival_lines(cells: Sequence[Cell]) -> dict[str, list[str]]:
    """Per store label (as in the verdicts), one line per event."""
    lines: dict[str, list[str]] = {}
    for label in dict.fromkeys(store_text(c) for c in ran(cells)):
        mine = [c for c in ran(cells) if store_text(c) == label and not c.get("store_latency_ms")]
        hits = {event: [c for c in mine if c["scenario"] in event.scenarios] for event in EVENTS}
        measured = [_event_line(event, hit) for event, hit in hits.items() if hit]
        missing = [f"{event.name} (`--scenario {','.join(event.scenarios)}`)" for event, hit in hits.items() if not hit]
        distance = _distance_line(cells, label)
        if distance is None:
            missing.append("distance (`--store-latency 0,2`)")
        tail = [f"not measured in this run: {', '.join(missing)}"] if missing else []
        lines[label] = measured + ([distance] if distance else []) + tail
    return lines


def _event_line(event: Event, hit: Sequence[Cell]) -> str:
    lost = sum(c["misses"] for c in hit) + sum(c.get("sessions_lost") or 0 for c in hit)
    head = "survives: no session lost" if not lost else "loses sessions"
    named = len(event.scenarios) > 1  # scale-out and scale-in share a line: say which each figure is
    return f"{event.name}: {head} — " + "; ".join(_cell_outcome(c, named) for c in hit)


def _cell_outcome(cell: Cell, named: bool) -> str:
    where = cell["routing"] + (f" / {cell['scenario']}" if named else "")
    event = first_disruption(cell)
    after = misses_after(cell, event)
    since = "" if after is None or event is None else f", {after:,} of them after {event['what']}"
    parts = [f"{cell['misses']:,} misses{since} ({pct(cell.get('miss_rate'))}, theory "
             f"{pct(cell.get('expected_miss_rate'))})", f"{cell.get('errors', 0):,} failed requests"]  # fmt: skip
    if cell.get("sessions_lost") is not None:
        parts.append(f"{sessions_lost_text(cell)} sessions lost")
    if cell.get("outage_s") is not None:
        parts.append(f"503s for {cell['outage_s']:.1f} s")
    return f"{where}: " + ", ".join(parts)


def first_disruption(cell: Cell) -> dict[str, Any] | None:
    """The cell's first event that changes something (not one that only measures, like starting a probe)."""
    events = cell.get("events") or []
    return next((e for e in events if not str(e.get("what", "")).startswith(BOOKKEEPING)), None)


def misses_after(cell: Cell, event: dict[str, Any] | None) -> int | None:
    """Misses from `event` on (timeline seconds): apart from the misses the routing causes anyway."""
    timeline = cell.get("timeline") or []
    if event is None or not timeline or not cell["misses"]:
        return None
    at = float(event.get("t", 0.0))
    return sum(int(row.get("misses", 0)) for row in timeline if float(row["t"]) + 1.0 > at)


def _distance_line(cells: Sequence[Cell], label: str) -> str | None:
    delayed = [c for c in ran(cells) if store_text(c) == label and c.get("store_latency_ms")]
    if not delayed:
        return None
    shown = []
    for cell in delayed:
        checks = cell.get("store_latency_check") or {}
        added = ", ".join(f"{name} +{c['p50_added_ms']:g} ms (theory {c['expected_ms']:g})"
                          for name, c in checks.items())  # fmt: skip
        rtt = cell.get("store_rtt_ms")
        at = f"{cell['store_latency_ms']:g} ms added" + (f" (measured RTT {rtt:g} ms)" if rtt is not None else "")
        shown.append(f"{at}: p50 {added or 'not compared'}, {cell.get('errors', 0):,} failed requests")
    return "distance: " + "; ".join(shown)
