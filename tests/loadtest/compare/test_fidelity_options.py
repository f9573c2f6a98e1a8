"""Every combination of the fidelity options that `--help` offers either runs or is refused at parse time with
one error line: --cross-check and --capacity with --duration, --users, --arrival-rate and --workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.compare.fidelity import crosscheck
from loadtest.compare.options import EXIT_DISAGREES, EXIT_OK, EXIT_USAGE, parse_args
from tests.support import results, sessionlab, together

SHORT_CROSS_CHECK = ("--cross-check", "--arrival-rate", "20", "--users", "2", "--duration", "2")
SHORT_CAPACITY = ("--capacity", "--capacity-steps", "1", "--store", "memory", "--users", "4", "--duration", "2",
                  "--slo-ms", "5000")  # fmt: skip
# Each documented combination, and the value it is tried with (the short run's own value replaced).
CROSS_CHECK_RUNS = {
    "--duration": ("--duration", "3"),  # not a multiple of the rounds: each generator's turn is rounded up to 2 s
    "--users": ("--users", "3"),
    "--arrival-rate": ("--arrival-rate", "30"),
    "--workers": ("--workers", "2"),
}
CAPACITY_RUNS = {"--duration": ("--duration", "3"), "--users": ("--users", "3"), "--workers": ("--workers", "2")}
REFUSED = {
    ("--capacity", "--arrival-rate", "100"): "--capacity searches the arrival rate itself",
    ("--cross-check", "--duration", "7.5"): "--duration must be a whole number of seconds",
    ("--capacity", "--duration", "0"): "--duration must be a whole number of seconds",
    ("--cross-check", "--users", "0"): "--users >= 1",
    ("--capacity", "--workers", "-1"): "--workers must be >= 0",
    ("--cross-check", "--arrival-rate", "0"): "--arrival-rate must be > 0",
    ("--cross-check", "--capacity"): "choose one",
    ("--cross-check", "--scenario", "node-failure"): "drop --scenario",
    ("--capacity", "--quick"): "drop --quick",
}


def with_option(base: tuple[str, ...], flag: str, value: str) -> list[str]:
    argv = list(base)
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    return argv


@pytest.mark.parametrize("argv", list(REFUSED), ids=[" ".join(a) for a in REFUSED])
def test_a_combination_that_cannot_run_is_refused_with_one_error_line(argv: tuple[str, ...], capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as refused:
        parse_args(list(argv))
    assert refused.value.code == EXIT_USAGE
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1 and REFUSED[argv] in errors[0]


@pytest.mark.parametrize("flag", list(CROSS_CHECK_RUNS))
def test_every_cross_check_combination_parses(flag: str) -> None:
    args = parse_args(with_option(SHORT_CROSS_CHECK, *CROSS_CHECK_RUNS[flag]))
    assert args.cross_check


@pytest.mark.parametrize("flag", list(CAPACITY_RUNS))
def test_every_capacity_combination_parses(flag: str) -> None:
    assert parse_args(with_option(SHORT_CAPACITY, *CAPACITY_RUNS[flag])).capacity


@pytest.mark.timeout(170)
@pytest.mark.skipif(crosscheck.hey_path() is None, reason="hey is not installed (Debian/Ubuntu: apt-get install hey)")
@pytest.mark.parametrize("flag", list(CROSS_CHECK_RUNS))
def test_every_cross_check_combination_runs_briefly(flag: str, tmp_path: Path) -> None:
    argv = with_option(SHORT_CROSS_CHECK, *CROSS_CHECK_RUNS[flag])
    done = sessionlab("compare", *argv, "--out", str(tmp_path), timeout=150)
    assert done.returncode in (EXIT_OK, EXIT_DISAGREES), done.stdout[-2000:] + done.stderr[-2000:]
    cell = results(tmp_path)["cells"][0]
    check = cell["cross_check"]
    assert done.returncode == (EXIT_OK if check["agrees"] else EXIT_DISAGREES)
    value = CROSS_CHECK_RUNS[flag][1]
    if flag == "--duration":
        assert cell["duration"] == crosscheck.ROUNDS * crosscheck.round_seconds(float(value))
    if flag == "--users":
        assert check["connections"] == int(value)
    if flag == "--arrival-rate":
        assert check["rate"] == float(value)
    if flag == "--workers":
        assert cell["workers_requested"] == int(value)
    assert check["tool_requests"] > 0 and (tmp_path / "report.md").exists()


@pytest.mark.timeout(200)
def test_every_capacity_combination_runs_briefly(tmp_path: Path) -> None:
    """The three runs at once (each a one-step search of a few seconds: overlapping them keeps the suite short)."""
    flags = list(CAPACITY_RUNS)
    commands = [("compare", *with_option(SHORT_CAPACITY, *CAPACITY_RUNS[flag]), "--out", str(tmp_path / flag[2:]))
                for flag in flags]  # fmt: skip
    for flag, done in zip(flags, together(*commands, timeout=180), strict=True):
        assert done.returncode == EXIT_OK, flag + done.stdout[-2000:] + done.stderr[-2000:]
        cell = results(tmp_path / flag[2:])["cells"][0]
        assert len(cell["capacity_steps"]) == 1 and cell["capacity_steps"][0]["details"]["achieved_rps"] > 0
        value = CAPACITY_RUNS[flag][1]
        assert {"--duration": cell["duration"] == float(value), "--users": cell["users"] == int(value),
                "--workers": cell["workers_requested"] == int(value)}[flag], flag  # fmt: skip
