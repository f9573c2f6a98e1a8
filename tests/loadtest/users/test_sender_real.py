"""The open-loop sender against a real cluster (nodes and balancer as processes, the sender as its own process):
it writes the locustfile's stats document, so a capacity step reads the same figures whichever generator ran it:
every intended start either sent or counted missed, session misses judged (a browser pinned by its affinity
cookie never misses on sticky / memory; an app without cookies does, and logs in again), latency from the
intended start and service time from the send."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest.compare.record.cells import build_cell
from loadtest.compare.spec import CellSpec
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.processes import wait_until
from loadtest.users import tally as T
from loadtest.users.schedule import Schedule, per_user_rate, user_phase

pytestmark = pytest.mark.timeout(120)
RATE, USERS, DURATION = 60.0, 6, 2.05  # no start within 2 ms of the end: the count cannot round either way


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    logs = tmp_path_factory.mktemp("sender-logs")
    with LocalCluster(ClusterConfig(nodes=2, routing="sticky", store="memory", log_dir=logs)) as started:
        assert wait_until(started.all_healthy, 15.0), "the cluster did not become healthy"
        yield started


def send(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "loadtest.users.sender", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)  # noqa: S603


def intended_starts() -> int:
    """How many starts the users' schedules hold within the run: the sender's sent plus missed must be these."""
    rate, total = per_user_rate(RATE, USERS), 0
    for index in range(USERS):
        schedule = Schedule(rate, 0.0, user_phase(index))
        while schedule.peek() <= DURATION:
            schedule.take()
            total += 1
    return total


def test_a_sender_run_counts_every_start_and_judges_every_session_answer(cluster: LocalCluster, tmp_path: Path) -> None:
    stats_path = tmp_path / "stats.json"
    done = send("--host", cluster.url, "--rate", f"{RATE:g}", "--users", str(USERS), "--duration", f"{DURATION:g}",
                "--stats", str(stats_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    stats: dict[str, Any] = json.loads(stats_path.read_text())
    assert stats["final"] and stats["open_loop"] == {"arrival_rate": RATE, "poisson": False, "users": USERS}
    cell = build_cell(CellSpec("sticky", "memory", "steady", 2, USERS, DURATION, arrival_rate=RATE), stats).to_json()
    assert cell["load_model"] == "open"
    assert cell["scheduled_requests"] + cell["missed_starts"] == intended_starts()
    assert cell["p99_ms"] is not None and cell["service_p99_ms"] is not None and cell["errors"] == 0
    totals = T.sum_counts(stats["per_second"].values())
    assert totals[T.key(T.USERS, "browser")] == 4 and totals[T.key(T.USERS, "app")] == 2
    assert totals[T.key(T.MISSES, "browser")] == 0  # the affinity cookie pins a browser to its node
    assert totals[T.key(T.RELOGINS, "app")] == totals[T.key(T.MISSES, "app")]
    session_requests = sum(T.labels(totals, T.SESSION_REQUESTS).values())
    assert session_requests == cell["scheduled_requests"]  # every scheduled request was answered and judged


def test_the_ceiling_probe_sends_plain_gets_of_a_path_to_every_node(cluster: LocalCluster, tmp_path: Path) -> None:
    stats_path = tmp_path / "probe.json"
    hosts = ",".join(member.url for member in cluster.nodes)
    done = send("--host", hosts, "--path", "/healthz", "--rate", "40", "--users", "4", "--duration", "1",
                "--stats", str(stats_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    stats = json.loads(stats_path.read_text())
    served = T.labels(T.sum_counts(stats["per_second"].values()), T.NODE)
    assert set(served) == {"node-1", "node-2"}
    assert [e["name"] for e in stats["entries"]] == ["/healthz"] and stats["entries"][0]["num_failures"] == 0


def test_bad_input_is_one_line_on_stderr_and_a_non_zero_exit(tmp_path: Path) -> None:
    done = send("--host", "http://127.0.0.1:9", "--rate", "0", "--duration", "1", "--stats", str(tmp_path / "s"))
    assert done.returncode != 0 and "Traceback" not in done.stderr and "--rate" in done.stderr
