"""`sessionlab bench --quick` end to end with the shortest runs: every row lands in bench.json, bench.md and the
docs results page, and nothing it started is left running. Speed is what the bench measures; this test never
asserts on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

import balancer
from loadtest.bench.servers import find_tool

pytestmark = [
    pytest.mark.skipif(find_tool("wrk") is None, reason="needs wrk (apt-get install wrk)"),
]


def holders_of_files_under(directory: Path) -> list[str]:
    """Processes that still have a file under `directory` open (every process the bench starts logs there)."""
    holders = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(item.path.startswith(str(directory)) for item in proc.open_files()):
                holders.append(f"{proc.pid}: {' '.join(proc.info['cmdline'] or [])}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # gone meanwhile, or not ours to read
            continue
    return holders


def test_a_quick_bench_reports_every_row_and_leaves_nothing_running(tmp_path: Path) -> None:
    """Run as a user would: the console script in a fresh folder, no --out: the report lands in ./reports/."""
    argv = [str(Path(sys.executable).parent / "sessionlab"), "bench", "--quick", "--seconds", "1", "--repeats", "1"]
    argv += ["--connections", "10", "--memory-sessions", "300", "--results-page", "docs/results/bench.md"]
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=170, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    [out] = list((tmp_path / "reports").glob("bench-*"))

    report = json.loads((out / "bench.json").read_text())
    proxies = ["direct", *(f"balancer-{mode}" for mode in ("random", "round_robin", "sticky", "hash", "route"))]
    data_path = report["settings"]["balancer_data_path"]
    assert data_path.split()[0] == balancer.DATA_PATH.kind  # the suite's own build: the bench finds and runs it
    proxies += ["balancer-interpreted-random"] if balancer.DATA_PATH.kind == "compiled" else []
    proxies += [f"nginx-{mode}" for mode in ("round_robin", "hash") if find_tool("nginx")]
    proxies += [f"haproxy-{mode}" for mode in ("round_robin", "sticky") if find_tool("haproxy")]
    kinds = ("read", "read-hot", "write", "write-hot")
    stores = ["store-none", *(f"store-{s}-{k}" for s in ("memory", "cookie", "redis", "redis_own") for k in kinds)]
    replicated = [f"store-replicated-{mode}-write" for mode in ("all-sync", "all-async", "backup-sync")]
    assert [row["name"] for row in report["rows"]] == [*proxies, *stores, "redis-floor", *replicated]
    for row in report["rows"]:
        assert len(row["runs"]) == 1 and row["rps"] > 0 and row["p50_ms"] > 0, row
        assert row["non2xx"] == 0 and row["socket_errors"] == 0, row  # every session was found, nothing failed
    assert {item["name"] for item in report["skipped"]} == {t for t in ("nginx", "haproxy") if not find_tool(t)}
    assert report["memory"]["sessions"] == 300 and report["memory"]["failed"] == 0
    assert report["machine"]["cores"] and report["machine"]["cpu"] and report["date"]
    assert any(target["target"].startswith("balancer random") for target in report["targets"])

    table = (out / "bench.md").read_text()
    assert f"Our balancer's data path: {data_path}" in table
    assert "| balancer sticky |" in table and "redis store, reads (GET /me), one hot session" in table
    assert table in result.stdout

    page = (tmp_path / "docs/results/bench.md").read_text()  # relative to where the command ran, like --out
    assert table.strip() in page and f"**Measured:** {report['date']}" in page
    assert f"{report['machine']['cores']} cores, {report['machine']['cpu']}" in page
    assert f"Python {report['machine']['python']}" in page
    assert "`sessionlab bench --quick --seconds 1 --repeats 1 --connections 10" in page
    assert holders_of_files_under(out) == []
    assert "without a route tag" not in (out / "logs" / "balancer-route.log").read_text()  # route's clients are tagged
