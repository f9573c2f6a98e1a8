"""The one timeline runner: applies a scenario's events to the running cluster while locust runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from loadtest.compare.scenarios.base import Event
from loadtest.lab.balancers.base import ControlPlaneError
from loadtest.lab.control import ClusterControl
from loadtest.lab.processes import StartupError


def run_timeline(
    events: list[Event], control: ClusterControl, start: float, say: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Each event at `start + event.at` (wall clock), in order; a late event runs at once. Returns the records
    `{"t": seconds since the load started, "what": ..., "outcome": ...}` that the cell keeps."""
    records = []
    for event in sorted(events, key=lambda e: e.at):
        wait_seconds(start + event.at - time.time())
        t = time.time() - start
        records.append({"t": round(t, 3), "what": event.what, **apply(event, control)})
        say(f"  {event.what} at {t:.1f}s: {records[-1]['outcome']}")
    return records


def apply(event: Event, control: ClusterControl) -> dict[str, Any]:
    """Run one action; a failed one is recorded (the cell goes on, its theory will tell)."""
    try:
        return event.action(control)
    except (StartupError, KeyError, OSError, ControlPlaneError) as error:
        return {"outcome": f"failed: {str(error).splitlines()[0]}", "failed": True}


def wait_seconds(seconds: float) -> None:
    """Sleep in short slices (a signal still interrupts promptly)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))
