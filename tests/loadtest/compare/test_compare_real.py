"""`sessionlab compare` for real: nodes, balancer, redis-server and locust as processes, a few short cells."""

from __future__ import annotations

import csv
import json
import re
import signal
from pathlib import Path

import pytest

from loadtest.lab import proctree
from loadtest.lab.processes import wait_until
from tests.loadtest.compare.report.reading import numbers
from tests.support import recorded_pids, results, sessionlab, spawn, stop_tree, survivors, together

from .report.test_report import NETWORK
from .test_cells import REQUIRED

pytestmark = pytest.mark.timeout(150)


RANDOM = ("compare", "--routing", "random", "--store", "redis,memory", "--scenario", "steady", "--nodes", "3",
          "--users", "20", "--duration", "5")  # fmt: skip
STICKY = ("compare", "--routing", "sticky", "--store", "memory", "--scenario", "node-failure", "--users", "24",
          "--user-kinds", "browser", "--duration", "6", "--revocation-bound", "0")  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """Independent runs at once (shared by the tests below): redis + random and memory + random from one locust
    process and from 2 workers, the concurrent cells (redis cas and last_write_wins, cookie), memory + sticky
    with a node killed. Overlapping them keeps the suite short; what they assert does not depend on CPU."""
    names = ("random", "workers", "concurrent", "sticky")
    outs = {name: tmp_path_factory.mktemp(f"compare-{name}") for name in names}
    done = together(
        (*RANDOM, "--revocation-bound", "1", "--out", str(outs["random"])),
        (*RANDOM, "--workers", "2", "--revocation-bound", "0", "--out", str(outs["workers"])),
        ("compare", "--scenario", "concurrent", "--routing", "random", "--store", "redis,cookie", "--users", "4",
         "--duration", "4", "--revocation-bound", "1", "--out", str(outs["concurrent"])),
        (*STICKY, "--out", str(outs["sticky"])),
    )  # fmt: skip
    for run in done:
        assert run.returncode == 0, run.stdout + run.stderr
    return {name: (out, run.stdout) for (name, out), run in zip(outs.items(), done, strict=True)}


@pytest.fixture(scope="module")
def random_run(runs: dict[str, tuple[Path, str]]) -> tuple[Path, str]:
    """redis + random and memory + random, 3 nodes, a few seconds each, one locust process."""
    return runs["random"]


def cell(out: Path, store: str, routing: str, scenario: str, consistency: str | None = None) -> dict:
    wanted = (store, routing, scenario)
    found = [c for c in results(out)["cells"] if (c["store"], c["routing"], c["scenario"]) == wanted
             and consistency in (None, c["consistency"])]  # fmt: skip
    assert len(found) == 1
    return found[0]


def test_redis_random_never_misses(random_run: tuple[Path, str]) -> None:
    redis = cell(random_run[0], "redis", "random", "steady")
    assert redis["session_requests"] > 100
    assert redis["misses"] == 0 and redis["miss_rate"] == 0 and redis["verdict"] == "ok"
    assert redis["errors"] == 0


def test_memory_random_misses_about_two_thirds(random_run: tuple[Path, str]) -> None:
    memory = cell(random_run[0], "memory", "random", "steady")
    assert memory["session_requests"] > 100
    assert abs(memory["miss_rate"] - 2 / 3) < 0.1, memory["miss_rate"]
    # the expectation is the mean of a replay through the real random policy: (N-1)/N to within its sampling error
    # (about 0.3 points over its replications; 1 point allowed)
    assert abs(memory["expected_miss_rate"] - 2 / 3) < 0.01 and memory["verdict"] == "ok"
    assert memory["relogins"] == memory["misses"]
    assert set(memory["node_share"]) == {"node-1", "node-2", "node-3"}


def test_each_miss_is_also_a_locust_request_event(random_run: tuple[Path, str]) -> None:
    """The SESSION rows in locust's own CSV count exactly the misses (and are kept out of the requests)."""
    memory = cell(random_run[0], "memory", "random", "steady")
    with (random_run[0] / "cells" / "memory-random-steady" / "locust_stats.csv").open() as file:
        rows = list(csv.DictReader(file))
    session_rows = {r["Name"]: int(r["Request Count"]) for r in rows if r["Type"] == "SESSION"}
    assert set(session_rows) == {"miss: browser", "miss: app"}
    assert sum(session_rows.values()) == memory["misses"]
    http = sum(int(r["Request Count"]) for r in rows if r["Type"] not in ("SESSION", ""))
    assert http == memory["requests"]


def test_results_json_has_every_field_for_every_cell(random_run: tuple[Path, str]) -> None:
    """Every field, and figures that fit together: the rate is the requests over the elapsed time, the run lasted
    at most its 5 s + 3 s (a loaded 2-core machine's start and stop), every user logged in and made a request,
    and the percentiles are ordered. (No lower bound on the time: under load, locust's `-t` timer was seen to
    end a 5 s run after 2.8 s.)"""
    data = results(random_run[0])
    assert len(data["cells"]) == 2
    for record in data["cells"]:
        assert record.keys() >= REQUIRED, REQUIRED - record.keys()
        assert 0 < record["elapsed_s"] <= 8.0 and record["requests"] >= 2 * 20
        assert record["rps"] == pytest.approx(record["requests"] / record["elapsed_s"], abs=0.06)
        assert 0 < record["p50_ms"] <= record["p95_ms"] <= record["p99_ms"] <= record["max_ms"]
    raw = sorted(p.name for p in (random_run[0] / "cells" / "redis-random-steady").glob("locust_*.csv"))
    assert raw == ["locust_exceptions.csv", "locust_failures.csv", "locust_stats.csv"]


def test_report_html_exists_and_fetches_nothing(random_run: tuple[Path, str]) -> None:
    page = (random_run[0] / "report.html").read_text()
    assert "redis" in page and "data:image/png;base64," in page
    assert NETWORK.search(page) is None
    assert (random_run[0] / "report.md").exists()


def test_progress_lines_and_no_process_left(random_run: tuple[Path, str]) -> None:
    out, stdout = random_run
    assert re.search(r"\[ 1/2 +0:\d\d\] random / redis / steady: cluster up", stdout)
    pids = recorded_pids(out / "pids.txt")
    assert {"locust", "balancer", "node-1"} <= set(pids.values())
    assert survivors(pids) == []


def test_two_workers_give_the_miss_rates_of_one_process(runs: dict[str, tuple[Path, str]]) -> None:
    one, two = runs["random"][0], runs["workers"][0]
    for store in ("redis", "memory"):
        alone, spread = cell(one, store, "random", "steady"), cell(two, store, "random", "steady")
        assert alone["verdict"] == spread["verdict"] == "ok", (alone, spread)
        # the two estimates of one rate differ by less than both tolerances together
        assert abs(alone["miss_rate"] - spread["miss_rate"]) <= alone["tolerance"] + spread["tolerance"]
        assert (spread["workers"], spread["workers_requested"], spread["load_processes"]) == (2, 2, 2)
        assert min(spread["requests_by_process"].values()) > 0.25 * spread["requests"]  # both workers loaded
        assert alone["load_processes"] == 1 and alone["workers"] == 0
    assert cell(two, "redis", "random", "steady")["misses"] == 0
    assert abs(cell(two, "memory", "random", "steady")["miss_rate"] - 2 / 3) < 0.1
    report = (two / "report.md").read_text()
    assert numbers(r"locust master \+ # workers \(# worker processes sent requests", report) == [(2, 2)]
    assert set(numbers(r"load from # of # workers", runs["workers"][1])) == {(2, 2)}  # every cell's line


def test_cas_loses_no_update_and_last_write_wins_does(runs: dict[str, tuple[Path, str]]) -> None:
    out = runs["concurrent"][0]
    cas = cell(out, "redis", "random", "concurrent", "cas")
    lww = cell(out, "redis", "random", "concurrent", "last_write_wins")
    cookie = cell(out, "cookie", "random", "concurrent")
    for record in (cas, lww, cookie):
        assert record["bursts"] >= 5 and record["increments_acked"] >= 50, record  # (few: the runs overlap)
        assert record["misses"] == 0 and record["errors"] == 0 and record["verdict"] == "ok"
    assert cas["increments_lost"] == 0 and cas["lost_update_rate"] == 0 and cas["lost_update_agrees"]
    assert lww["lost_update_rate"] > 0.1 and lww["lost_update_expected"] is None  # the failure cas exists for
    assert cookie["consistency"] == "last_write_wins" and cookie["lost_update_rate"] > 0.5
    report = (out / "report.md").read_text()
    assert "## Lost updates" in report and "| lost updates |" in report


def test_logout_all_revokes_redis_at_once_and_never_a_cookie(runs: dict[str, tuple[Path, str]]) -> None:
    redis = cell(runs["random"][0], "redis", "random", "steady")
    assert redis["revoked_usable_s"] == 0 and redis["revocation"]["until"] == "revoked"
    assert redis["revocation"]["scope"] == "all"
    cookie = cell(runs["concurrent"][0], "cookie", "random", "concurrent")
    assert cookie["revocation"]["until"] == "expiry" and cookie["revoked_usable_s"] == 1800
    memory = cell(runs["random"][0], "memory", "random", "steady")
    assert memory["revocation"]["scope"] == "this node"
    # revoked only if the other session happened to live on the node that served /logout-all
    assert memory["revocation"]["until"] in ("revoked", "bound"), memory["revocation"]
    assert "cannot be revoked" in (runs["concurrent"][0] / "report.md").read_text()


def test_memory_sticky_misses_only_after_the_kill(runs: dict[str, tuple[Path, str]]) -> None:
    out = runs["sticky"][0]
    sticky = cell(out, "memory", "sticky", "node-failure")
    kill = sticky["kill_at_s"]
    assert 2.0 < kill < 4.5 and sticky["killed_node"] == "node-1"
    before = sum(r["misses"] for r in sticky["timeline"] if r["t"] + 1 <= kill)
    after = sum(r["misses"] for r in sticky["timeline"] if r["t"] + 1 > kill)
    assert before == 0, sticky["timeline"]
    assert after > 0 and after <= 24  # once per user pinned to the dead node, at most
    assert sticky["verdict"] == "ok", sticky
    assert survivors(recorded_pids(out / "pids.txt")) == []


def test_sigint_stops_everything(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids.txt"
    with spawn("compare", "--routing", "random", "--store", "redis", "--scenario", "steady", "--users", "10",
               "--duration", "60", "--out", str(tmp_path)) as run:  # fmt: skip
        try:
            assert wait_until(lambda: pids_file.exists() and "locust" in recorded_pids(pids_file).values(), 30.0)
            stats = tmp_path / "cells" / "redis-random-steady" / "sessionlab-stats.json"
            assert wait_until(stats.exists, 20.0)  # the load is running
            forked = proctree.descendants(run.pid)
            run.send_signal(signal.SIGINT)
            _, stderr = run.communicate(timeout=30)
        finally:
            stop_tree(run, pids_file)
    assert run.returncode == 130, stderr
    assert "interrupted" in stderr
    assert survivors(recorded_pids(pids_file)) == []
    assert len(forked) >= 5 and [pid for pid in forked if proctree.alive(pid)] == []


def test_missing_redis_server_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    env = {**__import__("os").environ, "SESSIONLAB_REDIS_SERVER": str(tmp_path / "no-such-redis-server")}
    done = sessionlab("compare", "--routing", "random", "--store", "redis", "--scenario", "steady",
                      "--duration", "3", "--out", str(tmp_path), env=env, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "SESSIONLAB_REDIS_SERVER" in done.stderr  # one line, before any cell
    written = results(tmp_path)
    assert written["cells"] == [] and "SESSIONLAB_REDIS_SERVER" in written["meta"]["aborted"]
    assert not (tmp_path / "pids.txt").exists() or survivors(recorded_pids(tmp_path / "pids.txt")) == []


REVOCATION_KEYS = {"revocation", "revoked_usable_s"}  # only in the first cell of a store x routing, when measured
KEYS_BEFORE = json.loads((Path(__file__).parent / "fixtures/results-keys-before.json").read_text())


def test_results_json_keeps_every_key_it_had_before_the_reshaping(runs: dict[str, tuple[Path, str]]) -> None:
    """The fixture holds the keys of a `--quick` run of the code before loadtest/compare was reshaped; a run now
    must still write each of them (new keys may be added), so readers of results.json keep working."""
    after = results(runs["sticky"][0])  # memory + sticky + node-failure, the scenario --quick runs
    assert set(KEYS_BEFORE["meta"]) - {"redis_server"} <= set(after["meta"])  # redis_server: only with redis cells
    before_cell = set(KEYS_BEFORE["cells"]["node-failure/memory/revocation"]) - REVOCATION_KEYS
    assert before_cell <= set(after["cells"][0])
