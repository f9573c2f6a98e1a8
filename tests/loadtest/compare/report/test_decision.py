"""The decision (one row per thing a team cannot afford) and the design's claims, from generated cells."""

from __future__ import annotations

from typing import Any

from loadtest.compare.report.claims import design_claims
from loadtest.compare.report.decision import decide, short_names
from loadtest.compare.report.grid import build_grids
from loadtest.compare.report.recommend import recommend
from loadtest.compare.report.top import meta_fields
from loadtest.compare.spec import posture_label

from ..generated import cell, concurrent_cell

BOTH = {"user_kinds": ["browser", "app"]}
WRITE = "POST /counter"


def timed(found: dict[str, Any], p50: float, p99: float) -> dict[str, Any]:
    return found | {"p50_ms_by_request": {WRITE: p50}, "p99_ms_by_request": {WRITE: p99}}


def redis(routing: str, scenario: str, persistence: str = "aof", **extra: Any) -> dict[str, Any]:
    return cell(routing, "redis", "steady", 0.0) | {"scenario": scenario, "redis_persistence": persistence, **extra}


def run() -> list[dict[str, Any]]:
    """A default run in small: memory + sticky keeps browsers only, Redis with AOF keeps everything, the naive
    Redis loses every session on a restart, the cookie store loses parallel writes and cannot be revoked."""
    sticky = timed(cell("sticky", "memory", "steady", 0.25), 2.0, 20.0)
    sticky["by_kind"]["browser"].update(misses=0, miss_rate=0.0)
    sticky["revocation"], sticky["revoked_usable_s"] = {"until": "bound", "scope": "this node"}, 5.0
    cookie = cell("random", "cookie", "node-failure", 0.0) | {"revocation": {"until": "expiry", "max_age_s": 1800}}
    replicated = {"store": "replicated", "replication": "all-sync", "routing": "random"}
    return [
        sticky,
        cell("sticky", "memory", "node-failure", 0.1, after_p=0.2),
        cookie,
        timed(redis("random", "steady"), 3.0, 30.0) | {"revocation": {"until": "revoked"}, "revoked_usable_s": 0.0},
        redis("sticky", "node-failure"),
        redis("sticky", "rolling-deploy"),
        redis("random", "store-failure", sessions_lost=0, sessions_checked=300),
        redis("random", "store-failure", "none", sessions_lost=300, sessions_checked=300),
        timed(cell("random", "redis", "steady", 0.0), 6.5, 80.0) | replicated,
        cell("random", "redis", "node-failure", 0.0) | replicated,
        concurrent_cell("cookie", "last_write_wins", acked=1000, lost=900),
        concurrent_cell("redis", "cas", acked=1000, lost=0) | {"redis_persistence": "aof"},
        concurrent_cell("redis", "last_write_wins", acked=1000, lost=20) | {"redis_persistence": "aof"},
    ]


def rows() -> dict[str, Any]:
    return {row.priority: row for row in decide(run(), BOTH).rows}


def test_a_store_is_named_in_its_posture() -> None:
    assert posture_label("redis", persistence="aof") == "redis (AOF)"
    assert posture_label("redis", persistence="none") == "redis (no persistence)"
    assert posture_label("redis", persistence="none", setup="Sentinel") == "redis (Sentinel)"
    assert posture_label("replicated", "backup-sync") == "replicated backup-sync"
    assert posture_label("redis") == "redis"  # results from before the posture was recorded
    failure = next(grid for grid in build_grids(run()) if grid.scenario == "store-failure")
    assert [row.label for row in failure.rows] == ["redis (AOF)", "redis (no persistence)"]


def test_parallel_writes_survive_only_in_a_store_and_mode_that_lost_none() -> None:
    row = rows()["parallel writes to one session"]
    assert row.choices == ["redis with cas"]  # cookie lost 90%, redis with last_write_wins 2%
    assert "cookie with last_write_wins lost 900 of 1,000 (90.0%)" in row.because
    assert "not measured for memory, replicated" in row.because


def test_app_clients_exclude_memory_sticky_with_its_measured_miss_rate() -> None:
    row = rows()["app clients without cookies"]
    assert "memory + sticky" not in row.choices and "redis (AOF) + random" in row.choices
    assert row.because.startswith("memory + sticky missed") and "(browsers 0.0%)" in row.because


def test_revocation_node_loss_no_store_and_latency_rows_name_their_survivors() -> None:
    found = rows()
    assert "cookie + random" not in found["revocation on logout"].choices
    assert "until it expires (1800 s idle): cookie + random" in found["revocation on logout"].because
    assert "redis (AOF) + random" in found["revocation on logout"].choices
    lost = found["a node or zone lost"]
    assert "memory + sticky" not in lost.choices and "redis (AOF) + sticky" in lost.choices
    assert "replicated all-sync + random" in lost.choices
    assert set(found["running no session store"].choices) == {"cookie + random", "replicated all-sync + random"}
    assert found["latency budget"].because.index("memory + sticky") < found["latency budget"].because.index("redis")
    assert short_names(["redis (AOF) + random", "redis (AOF) + sticky", "cookie + random"]) == (
        "redis (AOF) + random/sticky, cookie + random"
    )


def test_no_choice_that_lost_writes_sessions_or_revocation_is_called_lossless() -> None:
    cells = run()
    found = recommend(cells, BOTH)
    lossless = next(line for line in found.lines if line.startswith("Lost nothing:"))
    for lossy in ("cookie +", "cookie store", "redis (no persistence)", "memory + sticky"):
        assert lossy not in lossless and lossy not in found.headline
    assert found.headline.startswith("Use the redis (AOF) store with sticky routing")  # the most scenarios
    assert found.headline.endswith(
        "Behind sessionlab: BALANCER_ROUTING=sticky (HMAC cookie SL_ROUTE, redispatch); "
        "drain: POST /_balancer/upstreams/drain (pinned clients stay, no new ones)."
    )
    assert any(line.startswith("cookie + random kept every session") and "not lossless" in line for line in found.lines)
    assert decide(cells, BOTH).for_this_mix.startswith("This run's client mix (browser users with cookies and app")


def test_the_design_claims_each_end_in_a_verdict_with_figures() -> None:
    sync, shared, tokens = design_claims(run())
    assert sync.verdict.startswith("holds with a cost of +4.5 ms p50 and +60 ms p99 per write")
    assert sync.figures["rows"][0]["vs_memory_sticky"] == {"p50_ms": 4.5, "p99_ms": 60.0}
    assert sync.figures["rows"][0]["vs_redis"] == {"p50_ms": 3.5, "p99_ms": 50.0}
    assert "measured at 3 nodes only" in sync.line()
    assert shared.verdict.startswith("holds with a cost of Redis itself")
    assert "redis (no persistence) lost 300 of 300 sessions" in shared.verdict and "redis (AOF): none" in shared.verdict
    assert tokens.verdict == "holds" and tokens.figures["app_miss_rate"]["memory + sticky"] > 0.1
    assert tokens.figures["app_miss_rate"]["redis (AOF) + random"] == 0.0


def test_a_claim_the_run_contradicts_says_why() -> None:
    cells = [*run(), redis("sticky", "scale-in") | {"misses": 12, "miss_rate": 0.01}]
    assert design_claims(cells)[1].verdict == "does not hold here, because scale-in missed 1.0%"
    quiet = [c for c in run() if c.get("replication")]
    for c in quiet:
        c["p50_ms_by_request"] = {WRITE: 2.2}
    same = [*[c for c in run() if not c.get("replication")], *quiet]
    assert design_claims(same)[0].verdict.startswith("does not hold here, because the synchronous copies added")


def test_results_meta_carries_the_decision_and_the_claims() -> None:
    meta = meta_fields(run(), BOTH)
    by_priority = meta["recommendation"]["by_priority"]
    assert [row["priority"] for row in by_priority] == [
        "app clients without cookies", "parallel writes to one session", "revocation on logout",
        "running no session store", "a node or zone lost", "latency budget"]  # fmt: skip
    assert all(set(row) == {"priority", "choices", "because"} for row in by_priority)
    claims = meta["design_claims"]
    assert [set(claim) for claim in claims] == [{"claim", "verdict", "figures"}] * 3
