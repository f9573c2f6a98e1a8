"""The report's long-lived table: only for cells that ran WebSocket users, with their measures beside the name."""

from __future__ import annotations

from loadtest.compare.report.figures.connections import label
from loadtest.compare.report.figures.plots import FIGURES
from loadtest.compare.report.recommend import _long_lived_lines
from loadtest.compare.report.tables import build_tables

BASE = {"routing": "sticky", "store": "redis", "scenario": "scale-out", "nodes": 3, "verdict": "ok",
        "agrees_with_theory": True, "requests": 100, "miss_rate": 0.0}  # fmt: skip
LONG_LIVED = {
    **BASE, "ws_connects": 9, "ws_connect_failures": 1, "reconnects": 5, "reconnect_p50_ms": 240.0,
    "reconnect_p99_ms": 1900.0, "ws_misses": 2, "messages_lost": 0, "messages_duplicated": 0,
    "ws_closes": {"1001": 3, "4401": 2},
    "open_connections": [{"t": 0.0, "nodes": {"node-1": 4}}, {"t": 1.0, "nodes": {"node-1": 3, "node-4": 1}},
                         {"t": 2.0, "nodes": {"node-1": 1}}],
}  # fmt: skip


def test_only_long_lived_cells_get_the_table() -> None:
    assert "Long-lived connections" not in [table.title for table in build_tables([BASE])]
    tables = {table.title: table.rows for table in build_tables([BASE, LONG_LIVED])}
    assert tables["Long-lived connections"] == [["redis / sticky / scale-out", "9", "1", "5", "240", "1,900", "2",
                                                 "0 / 0"]]  # fmt: skip
    assert tables["Where the long-lived connections went"] == [["redis / sticky / scale-out", "1001 ×3, 4401 ×2",
                                                                "node-1 3 / node-4 1"]]  # fmt: skip


def test_the_recommendation_names_the_choices_whose_websockets_kept_their_sessions() -> None:
    memory = {**LONG_LIVED, "store": "memory", "ws_misses": 7}
    redis = {**LONG_LIVED, "ws_misses": 0}
    [line] = _long_lived_lines([BASE, memory, redis])
    assert line.startswith("Apps with WebSockets: every reconnect found its session with redis + sticky; "
                           "not with memory + sticky (7 closed with 4401).")  # fmt: skip
    assert "shared store and sticky routing — the store saves the session, only stickiness saves the transport" in line
    assert _long_lived_lines([BASE]) == []


def test_the_handshake_measure_shows_which_routing_brought_upgrades_to_their_node() -> None:
    random_cell = {**LONG_LIVED, "routing": "random", "handshake_attempts": 20, "handshake_upgraded": 9,
                   "handshake_sid_unknown": 11}  # fmt: skip
    sticky_cell = {**LONG_LIVED, "handshake_attempts": 20, "handshake_upgraded": 20, "handshake_sid_unknown": 0}
    [table] = [t for t in build_tables([random_cell, sticky_cell]) if t.title.startswith("Where the long-lived")]
    assert [row[-1] for row in table.rows] == ["9 of 20 upgraded, 11 sid unknown", "20 of 20 upgraded"]
    [line] = _long_lived_lines([random_cell, sticky_cell])
    assert "(measured: 'Session ID unknown' with redis + random; every upgrade reached its node with redis + sticky)"\
        in line  # fmt: skip


STORM = {**LONG_LIVED, "scenario": "node-failure", "storm_reconnects": 30, "storm_peak_reconnects_per_s": 12,
         "storm_window_s": 2.0, "storm_others_p99_ms": 45.0, "others_p99_before_kill_ms": 12.0,
         "events": [{"t": 1.0, "what": "SIGKILL node-1", "killed": "node-1"}]}  # fmt: skip
SKEW = {**LONG_LIVED, "new_node": "node-4", "new_node_share_end": 0.03, "fair_share": 0.25, "rebalance": 0.5,
        "new_node_share_over_time": [{"t": 1.0, "share": 0.0}, {"t": 2.0, "share": 0.03}],
        "events": [{"t": 0.8, "what": "add node-4", "added": "node-4"}]}  # fmt: skip


def test_the_storm_and_the_skew_show_beside_the_closes() -> None:
    rows = {table.title: table.rows for table in build_tables([STORM, SKEW])}["Where the long-lived connections went"]
    assert rows[0][3] == "12/s peak, 30 in 2.0 s; others' p99 45 ms (12 before)"
    assert rows[1][4] == "node-4 3.0% (fair 25.0%, rebalance 50.0%)"


def test_the_open_connections_and_skew_figures_draw_only_with_long_lived_cells() -> None:
    assert [FIGURES["open_connections"][1](cells) is None for cells in ([BASE], [BASE, STORM])] == [True, False]
    assert [FIGURES["skew"][1](cells) is None for cells in ([STORM], [STORM, SKEW])] == [True, False]
    assert label({**SKEW, "balancer": "nginx", "long_lived_kind": "sse"}) == \
        "nginx: redis / sticky / scale-out [sse] (rebalance 50%)"  # fmt: skip
