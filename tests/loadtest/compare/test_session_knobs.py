"""The session's knobs of `sessionlab compare` (issue 23): parsed, refused when they cannot run, swept into the
matrix, and turned into the nodes' and the balancer's env vars (CONTRACT-23's names), scaled by --time-scale."""

from __future__ import annotations

import pytest

from loadtest.compare.matrix import plan
from loadtest.compare.options import parse_args
from loadtest.compare.run.cell import cell_folder_name
from loadtest.compare.spec import SessionKnobs


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as stopped:
        parse_args(list(argv))
    assert stopped.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(lines) == 1  # one line says what is wrong
    return lines[0]


def test_the_lists_sweep_the_matrix_one_cell_per_size_and_gap() -> None:
    args = ["--scenario", "steady", "--store", "cookie", "--routing", "random", "--revocation-bound", "0"]
    cells = plan(parse_args([*args, "--session-kb", "1,16,64", "--idle-gap", "0,30", "--time-scale", "0.05"]))
    assert [cell.label for cell in cells] == [
        "random / cookie / steady / 1 KB", "random / cookie / steady / 1 KB / gap 30 s",
        "random / cookie / steady / 16 KB", "random / cookie / steady / 16 KB / gap 30 s",
        "random / cookie / steady / 64 KB", "random / cookie / steady / 64 KB / gap 30 s",
    ]  # fmt: skip
    assert cells[1].session.gap_s == 1.5 and cells[1].session.session_kb == 1
    assert cell_folder_name(cells[1]) == "cookie-random-steady-1KB-gap30s"
    assert plan(parse_args(args))[0].session == SessionKnobs()  # no knob: the nodes' own defaults


def test_lifetimes_become_the_contracts_env_vars_scaled_to_whole_seconds() -> None:
    args = parse_args(["--scenario", "steady", "--session-kb", "4", "--session-ttl", "60", "--sticky-ttl", "30",
                       "--session-touch", "lazy:20", "--session-save", "always", "--time-scale", "0.05"])  # fmt: skip
    env = dict(plan(args)[0].session.node_env())
    assert env == {"SESSION_PAD_KB": "4", "SESSION_TTL": "3", "BALANCER_STICKY_TTL": "2",
                   "SESSION_TOUCH": "lazy:1", "SESSION_SAVE": "always"}  # fmt: skip


def test_store_full_runs_one_redis_cell_per_eviction_policy_and_mixed_version_one_per_compat_mode() -> None:
    cells = plan(parse_args(["--scenario", "store-full,mixed-version", "--store", "redis,cookie",
                             "--redis-eviction", "volatile-lru,noeviction", "--redis-maxmemory", "5"]))  # fmt: skip
    assert [cell.label for cell in cells] == [
        "random / redis / store-full / 16 KB / volatile-lru", "random / redis / store-full / 16 KB / noeviction",
        "sticky / redis / mixed-version / migrate", "sticky / redis / mixed-version / reject",
        "random / cookie / store-full",  # a cookie is not padded past its limit, and keeps nothing in Redis
        "sticky / cookie / mixed-version / migrate", "sticky / cookie / mixed-version / reject",
    ]  # fmt: skip
    assert cells[0].session.redis_maxmemory_mb == 5 and dict(cells[2].session.node_env()) == {
        "SESSION_SCHEMA_COMPAT": "migrate"}  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--time-scale", "0"), "--time-scale must be above 0"),
        (("--time-scale", "2"), "at most 1"),
        (("--session-ttl", "10", "--time-scale", "0.05"), "--session-ttl 10 at --time-scale 0.05 is under 1 s"),
        (("--sticky-ttl", "5", "--time-scale", "0.1"), "--sticky-ttl 5"),
        (("--session-touch", "lazy:60", "--session-ttl", "30"), "must refresh more often than --session-ttl 30"),
        (("--session-touch", "sometimes"), "expected always, on-change or lazy:<seconds above 0>"),
        (("--session-touch", "lazy:0"), "lazy:<seconds above 0>"),
        (("--session-kb", "1,x"), "expected comma-separated numbers"),
        (("--session-kb", "-1"), "expected comma-separated numbers from 0 to 1024"),
        (("--idle-gap", "300"), "pauses users 300 s: at most 120 s"),
        (("--redis-maxmemory", "0.5"), "--redis-maxmemory must be between 1 and 4096 MB"),
        (("--redis-eviction", "allkeys-random"), "subset of allkeys-lru,volatile-lru,noeviction"),
        (("--session-save", "sometimes"), "invalid choice"),
        (("--schema-compat", "ignore"), "subset of migrate,reject"),
        (("--idle-gap", "30", "--arrival-rate", "50"), "--idle-gap pauses closed-loop users"),
    ],
)
def test_combinations_that_cannot_run_are_refused_at_parse_time(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], says: str
) -> None:
    assert says in refusal(capsys, "--scenario", "steady", *argv)
