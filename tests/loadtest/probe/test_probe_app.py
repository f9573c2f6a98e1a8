"""`sessionlab probe` against a tiny app that loses sessions in known ways: every way of telling which backend
answered, every way of telling a miss, the mark endpoint, the logout at the end, and no redirect followed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loadtest.lab.probe import request
from tests.loadtest.probe.conftest import App
from tests.support import sessionlab, spawn, stop_tree

pytestmark = pytest.mark.timeout(90)
QUICK = ("--duration", "2s", "--rate", "20", "--users", "3")


def probe(app: App, out: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    run = sessionlab("probe", "--target", app.url, "--out", str(out), *QUICK, *args, timeout=60)
    assert run.returncode == 0, run.stderr
    return run, json.loads((out / "results.json").read_text())


def test_backend_from_a_json_field_and_a_counter_reset_is_a_miss(app: App, tmp_path: Path) -> None:
    _, results = probe(app, tmp_path, "--check", "POST /counter", "--backend-id", "json:node")
    assert set(results["backends"]) == {"alpha", "beta"}
    assert all(0.3 < share < 0.7 for share in results["backends"].values())
    assert results["misses"] > 0 and set(results["miss_reasons"]) == {"counter went back"}
    assert 0 < results["miss_rate"] < 1
    assert results["logged_out"] == {"ok": 3}  # every synthetic user logged out at the end ...
    assert app.stats()["logouts"] == 3 + 1  # ... and so did the one the preflight logged in


def test_backend_from_a_balancer_cookie_and_a_401_is_a_miss(app: App, tmp_path: Path) -> None:
    args = ("--check", "GET /me401", "--missed", "status:401", "--backend-id", "cookie:LB")
    _, results = probe(app, tmp_path, *args)
    assert results["backends"] == {"pin-a": 1.0}
    assert results["misses"] > 0 and set(results["miss_reasons"]) == {"status:401"}
    assert results["errors"] == {"idempotent": {}, "non_idempotent": {}}


def test_no_backend_id_still_measures_misses_shown_by_a_redirect(app: App, tmp_path: Path) -> None:
    args = ("--check", "GET /meredirect", "--missed", "redirect:/login", "--backend-id", "none")
    _, results = probe(app, tmp_path, *args)
    assert results["backends"] == {}
    assert results["misses"] > 0 and set(results["miss_reasons"]) == {"redirect:/login"}
    assert results["distinct_nodes_per_session"]["sessions"] == 0


def test_a_redirect_off_the_target_host_is_never_followed(app: App, tmp_path: Path) -> None:
    run = sessionlab("probe", "--target", app.url, "--out", str(tmp_path), *QUICK,
                     "--check", "GET /offhost", "--seen", "status:200")  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "sessionlab probe: error: --check GET /offhost answered 302, which no --seen or --missed rule names"
    ]
    assert app.stats()["elsewhere_hits"] == 0


def test_a_check_that_never_returns_a_counter_is_one_clear_line(app: App, tmp_path: Path) -> None:
    run = sessionlab("probe", "--target", app.url, "--out", str(tmp_path), *QUICK, "--check", "GET /nocounter")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and 'without an integer "counter" field' in lines[0], run.stderr


def test_a_script_marks_an_event_through_the_local_endpoint(app: App, tmp_path: Path) -> None:
    with spawn("probe", "--target", app.url, "--out", str(tmp_path), "--duration", "3s", "--rate", "10",
               "--check", "POST /counter") as run:  # fmt: skip
        try:
            assert run.stdout is not None
            line = next(line for line in run.stdout if line.startswith("mark an event:"))
            url = next(word for word in line.split() if word.startswith("http"))
            answer = request("POST", url, json_body={"label": "deploy started"}, timeout=5)
            assert answer.status == 200 and answer.json()["marked"] == "deploy started"
            run.wait(60)
        finally:
            stop_tree(run)
    assert run.returncode == 0
    events = json.loads((tmp_path / "results.json").read_text())["events"]
    assert [(e["label"], e["source"]) for e in events] == [("deploy started", "mark")]
    assert 0 <= events[0]["at_s"] < 3
    assert "deploy started" in (tmp_path / "report.md").read_text()
