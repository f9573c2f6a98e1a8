"""The stats plugin the locustfile loads: a Tally merged across locust workers, written as JSON and CSV at the end.

Only the master (or the single local process) writes; workers send their increments with each report.
Everything is written at `quit`, after the workers' last reports and before anything resets locust's stats
(its --json-file output resets them, and its --csv files lag up to a second behind the end). Importing this
module registers its listeners on locust's events, so import it only from a locustfile.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from loadtest.users import openloop, replicas
from loadtest.users import tally as T

STATS_FORMAT = 1
REPORT_KEY = "sessionlab"  # key of our increments in a worker's stats report
HDR_KEY = "sessionlab_hdr"  # key of our encoded latency histograms in a worker's stats report
TALLY = T.Tally()
RUN: dict[str, Any] = {"test_start": None, "test_stop": None, "workers": 0}
PROCESS = {"id": str(os.getpid())}  # a worker's own PID (read again after a fork, see _remember_environment)
USER_KINDS: dict[str, int] = {}  # user kind -> weight, filled by the locustfile

_ENV: dict[str, Any] = {}
Listener = TypeVar("Listener", bound=Callable[..., Any])


def on(event: Any) -> Callable[[Listener], Listener]:
    """Register a listener on one of locust's event hooks, keeping its type (locust's own decorator has none)."""

    def register(listener: Listener) -> Listener:
        event.add_listener(listener)
        return listener

    return register


@on(events.init)
def _remember_environment(environment: Any, **_: Any) -> None:
    PROCESS["id"] = str(os.getpid())  # `--processes` forks workers after this module was imported
    _ENV["environment"] = environment
    openloop.configure(environment.parsed_options)


@on(events.init_command_line_parser)
def _add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--sessionlab-stats",
        default="",
        env_var="LOCUST_SESSIONLAB_STATS",
        include_in_web_ui=False,
        help="write session counts (misses, logins, requests per node, per second) and final locust stats "
        "with response-time histograms to this JSON file",
    )
    parser.add_argument(
        "--sessionlab-csv",
        default="",
        env_var="LOCUST_SESSIONLAB_CSV",
        include_in_web_ui=False,
        help="write locust's final PREFIX_stats.csv, PREFIX_failures.csv and PREFIX_exceptions.csv at the end",
    )
    openloop.add_arguments(parser)
    replicas.add_arguments(parser)


@on(events.report_to_master)
def _send_increments(client_id: str, data: dict[str, Any]) -> None:
    data[REPORT_KEY] = TALLY.drain()
    data[HDR_KEY] = openloop.RECORDER.drain()


@on(events.worker_report)
def _merge_increments(client_id: str, data: dict[str, Any]) -> None:
    TALLY.merge(data.get(REPORT_KEY) or {})
    openloop.RECORDER.merge(data.get(HDR_KEY) or {})


@on(events.test_start)
def _on_test_start(environment: Any, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        RUN["test_start"], RUN["test_stop"] = time.time(), None
        _write_stats(environment, final=False)  # lets a runner see when the load started


@on(events.test_stop)
def _on_test_stop(environment: Any, **_: Any) -> None:
    openloop.count_missed(time.time())  # in every process with users (a worker's count goes in its last report)
    if not isinstance(environment.runner, WorkerRunner):
        RUN["test_stop"] = time.time()


@on(events.quit)
def _on_quit(exit_code: int, **_: Any) -> None:
    environment = _ENV.get("environment")
    if environment is None or environment.runner is None or isinstance(environment.runner, WorkerRunner):
        return
    _write_stats(environment, final=True)
    _write_csv(environment)
    print(summary(TALLY.totals()), flush=True)


def _option(environment: Any, name: str) -> str:
    return str(getattr(environment.parsed_options, name, "") or "") if environment.parsed_options else ""


def _write_stats(environment: Any, *, final: bool) -> None:
    path = _option(environment, "sessionlab_stats")
    if not path:
        return
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        RUN["workers"] = max(RUN["workers"], runner.worker_count)
    document = {
        "sessionlab_stats": STATS_FORMAT,
        "final": final,
        "test_start": RUN["test_start"],
        "test_stop": RUN["test_stop"],
        "written": time.time(),
        "workers": RUN["workers"],
        "user_kinds": dict(USER_KINDS),
        "user_classes": sorted(cls.__name__ for cls in environment.user_classes if cls.weight),
        "per_second": TALLY.to_dict(),
        "open_loop": openloop.OPEN.settings(),
        "hdr": openloop.RECORDER.encode(),
        "entries": [entry.serialize() for entry in runner.stats.entries.values()] if final else [],
        "locust_errors": [error.serialize() for error in runner.stats.errors.values()] if final else [],
    }
    _atomic_write(Path(path), json.dumps(document))


def _write_csv(environment: Any) -> None:
    prefix = _option(environment, "sessionlab_csv")
    if not prefix:
        return
    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (("stats", writer.requests_csv), ("failures", writer.failures_csv),
                          ("exceptions", writer.exceptions_csv)):  # fmt: skip
        buffer = io.StringIO()
        write(csv.writer(buffer))
        _atomic_write(Path(f"{prefix}_{suffix}.csv"), buffer.getvalue())


def _atomic_write(target: Path, text: str) -> None:
    """Write via a temporary file, so a reader never sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".tmp")
    partial.write_text(text)
    partial.replace(target)


def summary(totals: Any) -> str:
    """A few lines for the console: miss rate per user kind and who served what."""
    lines = ["sessionlab: session misses (miss rate = misses / authenticated calls answered 200 or 401)"]
    for kind in ("browser", "app"):
        checked = totals.get(T.key(T.SESSION_REQUESTS, kind), 0)
        missed = totals.get(T.key(T.MISSES, kind), 0)
        rate = missed / checked if checked else 0.0
        relogins = totals.get(T.key(T.RELOGINS, kind), 0)
        lines.append(f"  {kind:<8} {missed:>7} of {checked:>7} ({rate:6.1%}), re-logins {relogins}")
    nodes = T.labels(totals, T.NODE)
    served = sum(nodes.values()) or 1
    lines.append("  served by: " + ", ".join(f"{node} {n / served:.0%}" for node, n in sorted(nodes.items())))
    acked, lost = T.measure_total(totals, T.ACKED), T.measure_total(totals, T.LOST)
    if T.measure_total(totals, T.BURSTS):
        rate = lost / acked if acked else 0.0
        lines.append(f"  lost updates: {lost} of {acked} acknowledged increments ({rate:.1%}), "
                     f"409 conflicts {T.measure_total(totals, T.CONFLICTS)}")  # fmt: skip
    return "\n".join(lines)
