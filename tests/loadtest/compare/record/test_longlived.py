"""The long-lived measures: what `--long-lived` runs, and what a cell records from the WebSocket users' tally."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loadtest.compare.options import parse_args
from loadtest.compare.record.longlived import long_lived_fields, long_lived_verdicts
from loadtest.compare.run.cell import tunnel_env
from loadtest.compare.run.locustrun import LocustRun
from loadtest.compare.spec import CellSpec
from loadtest.users import tally as T
from tests.support import ROOT

KEYS = ("ws_connect_failures", "reconnects", "reconnect_p50_ms", "reconnect_p99_ms", "ws_misses", "messages_lost",
        "messages_duplicated")  # fmt: skip


def test_the_measures_add_up_over_seconds_and_keep_the_skew_per_second() -> None:
    tally = T.Tally()
    tally.count(T.WS_CONNECTS, "live", 4, now=100.2)
    tally.count(T.LIVE_OPEN, "node-1", 3, now=100.2)
    tally.count(T.LIVE_OPEN, "node-2", 1, now=100.2)
    tally.count(T.WS_CLOSES, "1001", 3, now=101.5)
    for ms in ("120", "150", "900"):
        tally.count(T.RECONNECT_TIME, ms, now=101.7)
    tally.count(T.RECONNECTS, "live", 3, now=101.7)
    tally.count(T.WS_MISSES, "live", now=101.7)
    tally.count(T.MESSAGES_LOST, "live", 2, now=101.9)
    tally.count(T.LIVE_OPEN, "node-2", 4, now=102.0)
    fields = long_lived_fields(tally.to_dict(), start=100.0)
    assert {key: fields[key] for key in KEYS} == {
        "ws_connect_failures": 0, "reconnects": 3, "reconnect_p50_ms": 150.0, "reconnect_p99_ms": 900.0,
        "ws_misses": 1, "messages_lost": 2, "messages_duplicated": 0,
    }  # fmt: skip
    assert fields["ws_closes"] == {"1001": 3}
    assert fields["open_connections"] == [
        {"t": 0.0, "nodes": {"node-1": 3, "node-2": 1}},
        {"t": 1.0, "nodes": {}},
        {"t": 2.0, "nodes": {"node-2": 4}},
    ]


def test_long_lived_cells_run_the_websocket_users_beside_the_others() -> None:
    spec = CellSpec("sticky", "redis", "node-failure", 3, 20, 7.0, long_lived=0.3)
    argv = LocustRun(spec, "http://127.0.0.1:1", Path("x")).argv()
    assert argv[argv.index("--sessionlab-long-lived") + 1] == "0.3"
    assert argv[-3:] == ["BrowserUser", "AppUser", "LongLivedUser"]
    plain = LocustRun(CellSpec("sticky", "redis", "node-failure", 3, 20, 7.0), "http://127.0.0.1:1", Path("x"))
    assert "LongLivedUser" not in plain.argv()


def test_long_lived_share_is_checked() -> None:
    assert parse_args(["--long-lived", "0.3"]).long_lived == 0.3
    with pytest.raises(SystemExit):
        parse_args(["--long-lived", "1"])


SHARE = """
import sys
sys.argv = ["locust", "-f", "loadtest/locustfile.py", "--sessionlab-long-lived", "0.25", "BrowserUser", "AppUser"]
import loadtest.locustfile as suite
weights = [cls.weight for cls in (suite.BrowserUser, suite.AppUser, suite.LongLivedUser)]
print(weights[2] / sum(weights))
"""


def test_the_share_sets_the_long_lived_user_s_weight() -> None:
    # in a subprocess: importing locust patches the process with gevent
    done = subprocess.run([sys.executable, "-c", SHARE], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert float(done.stdout) == pytest.approx(0.25), done.stderr


def test_rebalance_and_the_drain_time_reach_the_balancer_of_long_lived_cells_only() -> None:
    spec = CellSpec("random", "redis", "scale-out", 3, 20, 7.0, long_lived=0.3, rebalance=0.5, drain_seconds=1.5)
    assert dict(tunnel_env(spec)) == {"BALANCER_DRAIN_TIMEOUT": "1.5", "BALANCER_TUNNEL_REBALANCE": "0.5"}
    assert tunnel_env(CellSpec("random", "redis", "scale-out", 3, 20, 7.0)) == ()
    with pytest.raises(SystemExit):
        parse_args(["--rebalance", "2"])


def test_theory_wants_no_reconnect_miss_with_a_shared_store_and_upgrades_only_with_affinity() -> None:
    def verdicts(routing: str, store: str, misses: int, unknown: int, *, store_hit: bool = False) -> list[object]:
        spec = CellSpec(routing, store, "node-failure", 3, 20, 7.0, long_lived=0.3)
        figures = {"ws_misses": misses, "handshake_sid_unknown": unknown}
        return [v.agrees for v in long_lived_verdicts(spec, figures, store_hit=store_hit)]

    assert verdicts("random", "redis", 0, 11) == [True, True, None]  # no node joined: no skew to judge
    assert verdicts("random", "redis", 2, 0) == [False, False, None]  # all 20 upgrades on the polling node
    assert verdicts("sticky", "memory", 5, 0) == [None, True, None]  # memory misses: reported, not predicted here
    assert verdicts("hash", "cookie", 0, 3) == [True, False, None]
    assert verdicts("sticky", "redis", 4, 0, store_hit=True) == [None, True, None]  # the store itself was hit


def test_without_a_rebalance_the_new_node_holds_only_connections_opened_after_it_joined() -> None:
    def skew(most: int, opened: int, rebalance: float = 0.0) -> object:
        spec = CellSpec("random", "redis", "scale-out", 3, 20, 7.0, long_lived=0.3, rebalance=rebalance)
        figures = {"new_node_open_max": most, "connections_opened_after_join": opened}
        return long_lived_verdicts(spec, figures, store_hit=False)[2].agrees

    assert skew(0, 0) is True and skew(3, 5) is True
    assert skew(4, 2) is False  # more on the new node than were opened since: connections moved, or miscounted
    assert skew(4, 2, rebalance=0.5) is None  # closed ones come back through the routing: not predicted


def test_a_kill_s_reconnect_storm_has_a_peak_rate_and_the_other_nodes_tail_during_it() -> None:
    tally = T.Tally()
    tally.count(T.node_latency("node-2"), "700", 50, now=98.5)  # the ramp-up's logins: not the baseline
    for second, (fast, slow) in enumerate([(99, 1), (99, 1), (90, 10), (95, 5), (99, 1)]):
        tally.count(T.node_latency("node-2"), "3", fast, now=100.0 + second)
        tally.count(T.node_latency("node-2"), "80", slow, now=100.0 + second)
        tally.count(T.node_latency("node-1"), "900", 5, now=100.0 + second)  # the victim's own tail: left out
    tally.count(T.RECONNECTS, "live", 7, now=102.3)
    tally.count(T.RECONNECTS, "sse", 2, now=103.1)
    kill = {"t": 2.0, "what": "SIGKILL node-1", "killed": "node-1"}
    fields = long_lived_fields(tally.to_dict(), start=100.0, events=[kill])
    assert fields["storm_reconnects"] == 9 and fields["storm_peak_reconnects_per_s"] == 7
    assert fields["storm_window_s"] == 2.0  # the kill's second and the next, the last with reconnects
    assert fields["storm_others_p99_ms"] == 80.0 and fields["others_p99_before_kill_ms"] == 3.0
    assert "storm_reconnects" not in long_lived_fields(tally.to_dict(), start=100.0)  # no kill: no storm


def test_a_scale_out_s_skew_is_the_new_node_s_share_of_open_connections() -> None:
    tally = T.Tally()
    for second, on_new in enumerate([0, 0, 0, 1, 2, 2, 2, 0]):
        tally.count(T.LIVE_OPEN, "node-1", 10 - on_new, now=100.0 + second)
        if on_new:
            tally.count(T.LIVE_OPEN, "node-3", on_new, now=100.0 + second)
    tally.count(T.WS_CONNECTS, "live", 2, now=103.5)
    tally.count(T.WS_CONNECTS, "live", 3, now=102.9)  # the join's own second: opened after it (rebalanced ones are)
    tally.count(T.WS_CONNECTS, "live", 5, now=101.9)
    spec = CellSpec("random", "redis", "scale-out", 2, 20, 8.0, long_lived=0.3, long_lived_kind="both")
    fields = long_lived_fields(tally.to_dict(), 100.0, [{"t": 2.5, "added": "node-3"}], spec)
    assert [row["share"] for row in fields["new_node_share_over_time"]] == [0.0, 0.1, 0.2, 0.2, 0.2, 0.0]
    assert fields["new_node_share_end"] == 0.2  # the last whole seconds (the very last one is cut short)
    assert fields["connections_opened_after_join"] == 5 and fields["fair_share"] == 0.5
    assert fields["new_node_open_max"] == 2
    never = long_lived_fields(tally.to_dict(), 100.0, [{"t": 2.5, "added": "node-4"}], spec)
    assert never["new_node_share_end"] == 0.0 and never["fair_share"] == 0.3333  # node-4 never had one: still N + 1
    assert (fields["long_lived_kind"], fields["rebalance"]) == ("both", 0.0)
    assert "no open connection moves" in fields["skew_theory"]


def test_the_long_lived_kind_picks_the_users() -> None:
    spec = CellSpec("sticky", "redis", "node-failure", 3, 20, 7.0, long_lived=0.3, long_lived_kind="both")
    assert LocustRun(spec, "http://127.0.0.1:1", Path("x")).argv()[-2:] == ["LongLivedUser", "SSEUser"]
    assert parse_args(["--long-lived", "0.3", "--long-lived-kind", "sse"]).long_lived_kind == "sse"
    with pytest.raises(SystemExit):
        parse_args(["--long-lived-kind", "poll"])


BOTH = """
import sys
sys.argv = ["locust", "-f", "loadtest/locustfile.py", "--sessionlab-long-lived", "0.4", "BrowserUser", "AppUser",
            "LongLivedUser", "SSEUser"]
import loadtest.locustfile as suite
weights = [cls.weight for cls in (suite.BrowserUser, suite.AppUser, suite.LongLivedUser, suite.SSEUser)]
print(weights[2] / sum(weights), weights[3] / sum(weights))
"""


def test_both_long_lived_users_split_the_share() -> None:
    done = subprocess.run([sys.executable, "-c", BOTH], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert [float(x) for x in done.stdout.split()] == pytest.approx([0.2, 0.2]), done.stderr
