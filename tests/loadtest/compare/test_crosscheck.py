"""The outside cross-check: hey's CSV read exactly, the agreement rules, and a real run (skipped without hey)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loadtest.compare.fidelity import crosscheck
from loadtest.compare.fidelity import report as fidelity_report
from tests.support import results, sessionlab

HEY_CSV = """response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset
0.0012,0.0003,0.0000,0.0000,0.0011,0.0000,200,0.0010
0.0021,0.0000,0.0000,0.0000,0.0020,0.0000,200,0.0110
0.0450,0.0000,0.0000,0.0000,0.0449,0.0000,503,0.0210
"""


def test_heys_csv_gives_every_requests_time_and_status() -> None:
    samples = crosscheck.parse_csv(HEY_CSV)
    assert samples == [(pytest.approx(1.2), 200), (pytest.approx(2.1), 200), (pytest.approx(45.0), 503)]
    figures = crosscheck.figures(samples, duration=1.0)
    assert figures["requests"] == 3 and figures["errors"] == 1 and figures["p50_ms"] == pytest.approx(2.1)


def test_hey_is_asked_for_the_same_total_rate_split_over_its_connections() -> None:
    run = crosscheck.HeyRun("http://127.0.0.1:1/me", rate=150.0, connections=10, duration=5.0, cookie="a=b")
    argv = run.argv("hey")
    assert argv[argv.index("-q") + 1] == "15" and argv[argv.index("-c") + 1] == "10"
    assert "Cookie: a=b" in argv and argv[-1] == "http://127.0.0.1:1/me"


def test_agreement_is_20_percent_at_p50_and_a_factor_2_at_p99() -> None:
    record = crosscheck.compare_figures(150, 10, {"p50_ms": 1.1, "p99_ms": 3.9}, {"p50_ms": 1.0, "p99_ms": 2.0})
    assert record["p50_agrees"] is True and record["p99_agrees"] is True
    record = crosscheck.compare_figures(150, 10, {"p50_ms": 1.3, "p99_ms": 4.1}, {"p50_ms": 1.0, "p99_ms": 2.0})
    assert record["p50_agrees"] is False and record["p99_agrees"] is False
    assert set(record) >= {"tool", "rate", "connections", "lab_p50_ms", "tool_p50_ms", "lab_p99_ms", "tool_p99_ms"}


@pytest.mark.timeout(170)
@pytest.mark.skipif(crosscheck.hey_path() is None, reason="hey is not installed (Debian/Ubuntu: apt-get install hey)")
def test_a_cross_check_writes_both_generators_figures_at_one_rate(tmp_path: Path) -> None:
    """Both generators were given one rate (60/s); hey kept it within 10% (a few % of one core, which a loaded 2-core
    machine has; the lab's own rate is test_openloop_real's promise) and each reports a latency distribution
    (0 < p50 <= p99). Whether the figures agree is speed, which this test never asserts."""
    done = sessionlab("compare", "--cross-check", "--arrival-rate", "60", "--users", "4", "--duration", "6",
                      "--out", str(tmp_path), timeout=150)  # fmt: skip
    cell = results(tmp_path)["cells"][0]
    check = cell["cross_check"]
    assert done.returncode == (0 if check["agrees"] else 3), done.stderr  # 3: the documented "disagrees" exit
    for generator in ("lab", "hey"):  # the servers' own time for each generator's requests
        servers = check["servers"][generator]
        assert servers["balancer_requests"] > 0 and servers["nodes_requests"] > 0
        assert 0 < servers["nodes_p50_ms"] <= servers["balancer_p99_ms"]
    assert check["tool"] == "hey" and check["rate"] == 60 and check["connections"] == 4
    assert check["tool_errors"] == 0 and check["tool_requests"] == pytest.approx(60 * 6, rel=0.10)
    assert check["tool_rps"] == pytest.approx(60, rel=0.10) and check["lab_rps"] > 0
    for side in ("lab", "tool"):
        assert 0 < check[f"{side}_p50_ms"] <= check[f"{side}_p99_ms"], check
    assert cell["load_model"] == "open" and cell["rounds"] == crosscheck.ROUNDS
    report = (tmp_path / "report.md").read_text()
    assert "Cross-check with hey" in report and "nodes' own time (handler), hey's requests" in report


LAB = {"p50_ms": 2.4, "p99_ms": 9.0}
HEY_FIGURES = {"p50_ms": 3.9, "p99_ms": 12.0}


def test_the_gap_is_laid_on_the_side_whose_time_differs() -> None:
    """hey's p50 is 1.5 ms above the lab's; its requests took the balancer 1.4 ms longer: the servers carry it."""
    servers = {"lab": {"balancer_p50_ms": 1.0}, "hey": {"balancer_p50_ms": 2.4}}
    record = crosscheck.compare_figures(150, 10, LAB, HEY_FIGURES, servers)
    assert record["gap"].endswith("the servers carry the gap") and "+1.50 ms" in record["gap"]
    servers = {"lab": {"balancer_p50_ms": 1.0}, "hey": {"balancer_p50_ms": 1.1}}
    record = crosscheck.compare_figures(150, 10, LAB, HEY_FIGURES, servers)
    assert "the generators' side (client, kernel, loopback) carries the gap" in record["gap"]
    assert crosscheck.compare_figures(150, 10, LAB, HEY_FIGURES)["gap"] is None  # no servers' figures: no claim


def test_a_p50_gap_over_20_percent_is_a_disagreement_the_report_states_with_its_exit_code() -> None:
    record = crosscheck.compare_figures(150, 10, LAB, HEY_FIGURES)
    assert record["p50_agrees"] is False and record["agrees"] is False
    cells = [{"store": "memory", "routing": "sticky", "cross_check": record}]
    assert crosscheck.disagrees(cells)
    assert not crosscheck.disagrees([{"cross_check": crosscheck.compare_figures(150, 10, LAB, LAB)}])
    assert "exits 3" in "\n".join(fidelity_report.cross_check_lines(cells))


def test_the_report_shows_the_servers_own_time_beside_the_generators() -> None:
    servers = {generator: {"balancer_p50_ms": 1.0, "balancer_p99_ms": 5.0, "balancer_requests": 900,
                           "nodes_p50_ms": 0.2, "nodes_p99_ms": 1.0, "nodes_requests": 900}
               for generator in ("lab", "hey")}  # fmt: skip
    record = crosscheck.compare_figures(150, 10, LAB, HEY_FIGURES, servers)
    text = "\n".join(
        fidelity_report.cross_check_lines([{"store": "memory", "routing": "sticky", "cross_check": record}])
    )
    assert "| balancer's own time (turn to last byte, node included), hey's requests | 1 | 5 | 900 requests |" in text
    assert "| nodes' own time (handler), lab's requests | 0.2 | 1 | 900 requests |" in text
    assert "Second outside generator:" in text


@pytest.mark.parametrize(("duration", "turn"), [(15, 8), (16, 8), (3, 2), (1, 1), (2, 1)])
def test_each_generators_turn_is_whole_seconds_as_locust_needs(duration: float, turn: int) -> None:
    assert crosscheck.round_seconds(duration) == turn


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_is_named_and_why_it_cannot_keep_a_fixed_rate() -> None:
    assert "wrk is on PATH but closed loop" in crosscheck.second_generator_note()


def test_heys_sends_are_read_from_its_csv_and_a_burst_per_tick_is_called_bunched() -> None:
    assert crosscheck.send_offsets(HEY_CSV) == [pytest.approx(0.001), pytest.approx(0.011), pytest.approx(0.021)]
    smooth = [index / 150 for index in range(300)]  # 150/s, evenly spaced: no two sends within 1 ms
    ticks = [tick / 15 + connection * 0.00005 for tick in range(30) for connection in range(10)]  # hey: -c 10 -q 15
    assert crosscheck.bunched_share([smooth]) == 0.0
    assert crosscheck.bunched_share([ticks]) == 1.0
    assert crosscheck.bunched_share([]) is None
    record = crosscheck.compare_figures(150, 10, LAB, {**HEY_FIGURES, "bunched_share": 1.0},
                                        {"lab": {"balancer_p50_ms": 1.0}, "hey": {"balancer_p50_ms": 2.4}})  # fmt: skip
    assert "10 connections tick together" in record["gap"]


def test_a_lab_generator_that_fell_behind_is_named_when_the_gap_lies_outside_the_servers() -> None:
    lab = {"p50_ms": 40.0, "p99_ms": 600.0, "generator_behind": True, "start_lag_p99_ms": 357.0}
    servers = {"lab": {"balancer_p50_ms": 12.0}, "hey": {"balancer_p50_ms": 17.0}}
    record = crosscheck.compare_figures(150, 50, lab, {"p50_ms": 31.0, "p99_ms": 110.0, "bunched_share": 0.99}, servers)
    assert "the generators' side (client, kernel, loopback) carries the gap" in record["gap"]
    assert "fell behind its schedule (start lag p99 357.0 ms)" in record["gap"] and "tick together" not in record["gap"]
