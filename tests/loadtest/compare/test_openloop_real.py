"""Open-loop load against a real cluster (nodes, balancer, locust as processes): the rate it keeps, and what a
stalled node does to latency measured from the intended start, next to the closed-loop run of the same cell."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.compare.record.cells import build_cell
from loadtest.compare.record.loadfigures import LATE_BUDGET
from loadtest.compare.run.loadrun import cpu_fields, run_load
from loadtest.compare.spec import CellSpec
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.processes import wait_until
from loadtest.users import hdr
from tests.support import results, sessionlab

pytestmark = pytest.mark.timeout(170)
STALL_S, RUN_S = 1.0, 12.0


def test_an_open_loop_cell_keeps_its_rate_and_says_how_many_starts_were_late(tmp_path: Path) -> None:
    """README: an open-loop cell achieves its rate within 10%. 100 requests/s from 10 users take about 9% of one
    core for the generator, so a loaded 2-core machine keeps it: this fails (never skips) when the rate is not kept,
    both by the generator's own count (sent / intended) and by the requests the cell counted over its elapsed time.
    Late starts depend on the machine's load: only their bookkeeping is checked."""
    done = sessionlab("compare", "--arrival-rate", "100", "--store", "memory", "--routing", "sticky",
                      "--scenario", "steady", "--users", "10", "--user-kinds", "browser", "--duration", "6",
                      "--revocation-bound", "0", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    cell = results(tmp_path)["cells"][0]
    assert cell["load_model"] == "open" and cell["arrival_rate"] == 100.0
    assert cell["generator_cpu_share"] is not None and "open 100/s achieved" in done.stdout
    note = f"{cell['generator_note']}; load average {cell['load_average']}"
    assert cell["achieved_rps"] == pytest.approx(100.0, rel=0.10), note  # (rate_kept flags below 95%: stricter)
    assert cell["requests"] / cell["elapsed_s"] == pytest.approx(100.0, rel=0.10), note
    late, scheduled = cell["late_starts"], cell["scheduled_requests"]
    assert 0 < scheduled <= cell["requests"] and cell["late_start_rate"] == round(late / scheduled, 4)
    assert cell["generator_behind"] == (not cell["generator_kept_rate"] or late / scheduled > LATE_BUDGET)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    logs = tmp_path_factory.mktemp("stall-logs")
    with LocalCluster(ClusterConfig(nodes=3, routing="sticky", store="memory", log_dir=logs)) as started:
        yield started


def slower_than(stats: dict[str, Any], ms: float) -> int:
    """How many answers took longer than `ms` (from the run's merged latency histogram)."""
    histogram = hdr.series_total(stats["hdr"], hdr.LATENCY)
    return sum(step.count_added_in_this_iter_step for step in histogram.get_recorded_iterator()
               if step.value_iterated_to > ms * 1000)  # fmt: skip


def stalled_run(cluster: LocalCluster, folder: Path, arrival_rate: float) -> dict[str, Any]:
    """20 ReaderUsers for RUN_S; node-1 SIGSTOPped for STALL_S from 4 s in, then SIGCONTed."""
    assert wait_until(cluster.all_healthy, 15.0), "the cluster did not become healthy"
    spec = CellSpec("sticky", "memory", "steady", 3, 20, RUN_S, arrival_rate=arrival_rate,
                    user_classes=("ReaderUser",))  # fmt: skip
    node = cluster.nodes[0].process

    def stall(start: float) -> None:
        wait_until(lambda: time.time() >= start + 4.0, 10.0, interval=0.01)
        node.signal(signal.SIGSTOP)
        try:
            wait_until(lambda: time.time() >= start + 4.0 + STALL_S, 5.0, interval=0.01)
        finally:
            node.signal(signal.SIGCONT)

    load = run_load(cluster, spec, folder, ("browser",), lambda name, pid: None, during=stall)
    cell = {
        **build_cell(spec, load.stats).to_json(),
        **cpu_fields(load.cpu),
        "slow": slower_than(load.stats, 500 * STALL_S),
    }
    (folder / "cell.json").write_text(json.dumps(cell, default=str))
    return cell


def test_a_stalled_node_shows_in_open_loop_latency_and_hides_in_closed_loop(cluster: LocalCluster,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    opened = stalled_run(cluster, tmp_path / "open", 100.0)
    closed = stalled_run(cluster, tmp_path / "closed", 0.0)
    assert opened["load_model"] == "open" and closed["load_model"] == "closed"
    # open loop: every request meant to start during the stall on the stopped node's users waits for its end;
    # their latencies spread evenly up to the stall's length: 1/3 of the requests of 1 s out of 12 s (2.8%)
    assert opened["max_ms"] >= 0.95 * STALL_S * 1000
    assert opened["p99_ms"] >= 0.5 * STALL_S * 1000, (opened["p99_ms"], opened["slow"])
    peak = max(row["p99_ms"] or 0 for row in opened["timeline"])
    assert peak >= 0.9 * STALL_S * 1000  # the latency-over-time row of the stall's end
    # closed loop: each stopped user sends one request and waits (think time 0.05-0.5 s between requests), so
    # about 0.3 s / (3 nodes x 12 s) = 0.8% of the requests meet the stall: below the p99
    assert closed["p99_ms"] < 0.5 * STALL_S * 1000, (closed["p99_ms"], closed["slow"])
    assert opened["slow"] >= 2 * closed["slow"], (opened["slow"], closed["slow"])
