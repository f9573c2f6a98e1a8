"""The session's own life on real processes (issue 23): short `sessionlab compare` runs whose measures move the way
theory says. A full Redis (store-full), a cookie over its limit, a mixed-version deploy and idle gaps against the
three lifetimes, shortened together by --time-scale (no test sleeps through a real idle gap)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import results, together

QUIET = ("--users", "6", "--revocation-bound", "1")
STORE_FULL = ("compare", "--scenario", "store-full", "--store", "redis", "--redis-maxmemory", "2",
              "--duration", "6", *QUIET)  # fmt: skip
COOKIE_SIZE = ("compare", "--scenario", "steady", "--store", "cookie,redis", "--routing", "random",
               "--session-kb", "1,64", "--session-touch", "lazy:2", "--cookie-denylist", "--duration", "5",
               *QUIET)  # fmt: skip
MIXED = ("compare", "--scenario", "mixed-version", "--store", "redis", "--nodes", "2", "--drain-seconds", "1",
         "--duration", "5", *QUIET)  # fmt: skip
# 5 s pauses against a 3 s TTL refreshed lazily every second and a 1 s affinity cookie (x 0.05 of 100, 60, 20, 20)
IDLE = ("compare", "--scenario", "steady", "--store", "redis", "--routing", "sticky", "--idle-gap", "100",
        "--session-ttl", "60", "--sticky-ttl", "20", "--session-touch", "lazy:20", "--time-scale", "0.05",
        "--duration", "12", "--users", "8", "--revocation-bound", "1")  # fmt: skip


def cells_of(out: Path) -> list[dict[str, Any]]:
    return list(results(out)["cells"])


def no_server_errors(cells: list[dict[str, Any]]) -> None:
    for cell in cells:
        assert "500" not in cell["errors_by_status"] and cell["no_500_agrees"] is True, cell["errors_by_status"]


@pytest.mark.timeout(180)
def test_a_full_redis_evicts_or_refuses_and_a_cookie_over_its_limit_is_refused_with_413(tmp_path: Path) -> None:
    full_out, size_out = tmp_path / "full", tmp_path / "size"
    done = together((*STORE_FULL, "--out", str(full_out)), (*COOKIE_SIZE, "--out", str(size_out)), timeout=170)
    assert [run.returncode for run in done] == [0, 0], [run.stderr[-2000:] for run in done]
    lru, noeviction = cells_of(full_out)
    assert (lru["redis_eviction"], noeviction["redis_eviction"]) == ("allkeys-lru", "noeviction")
    # allkeys-lru: past maxmemory it evicts, idle users find their sessions gone, nobody is refused
    assert lru["evicted_sessions"] > 0 and lru["filler_sessions_lost"] > 0 and lru["logins_refused"] == 0
    assert lru["filler_sessions_lost"] <= lru["evicted_sessions"]  # every lost session was counted by Redis
    # noeviction: logins refused with 503, no acknowledged session lost, nothing evicted
    assert noeviction["logins_refused"] > 0 and noeviction["filler_sessions_lost"] == 0
    assert noeviction["evicted_sessions"] == 0 and set(noeviction["errors_by_status"]) <= {"503"}
    for cell in (lru, noeviction):
        assert cell["evicted_sessions_agrees"] and cell["logins_refused_agrees"] and cell["filler_sessions_lost_agrees"]
        assert cell["redis_bytes_per_session"] > 16 * 1024  # a 16 KB padded session costs more than its pad
    assert lru["revocation_ms_by_node"] and lru["revoked_on_first_probe"] is True  # redis: every node, first probe
    sizes = {(c["store"], c["session_kb"]): c for c in cells_of(size_out)}
    big = sizes["cookie", 64.0]
    assert set(big["errors_by_status"]) == {"413"} and big["refused_413"] > 0 and big["logins"] == 0
    assert (
        big["session_kb_agrees"] is True and "cookie: not possible above ~2.8 KB" in big["session_theory"]["session_kb"]
    )
    small = sizes["cookie", 1.0]
    assert small["refused_413"] == 0 and small["logins"] > 0 and small["store_touches_agrees"] is True
    assert small["wire_bytes_per_request"] > 2 * sizes["redis", 1.0]["wire_bytes_per_request"]  # both ways
    assert small["revoked_on_first_probe"] is True and small["revocation_ms_agrees"] is True  # the deny-list
    assert sizes["redis", 64.0]["store_bytes_per_session"] > 64 * 1024 > sizes["redis", 1.0]["store_bytes_per_session"]
    assert sizes["redis", 64.0]["refused_413"] == 0
    no_server_errors([lru, noeviction, *sizes.values()])
    report = (size_out / "report.md").read_text()
    assert "cookie: not possible above ~2.8 KB" in report


@pytest.mark.timeout(200)
def test_a_mixed_version_deploy_and_idle_gaps_move_the_measures_the_way_theory_says(tmp_path: Path) -> None:
    mixed_out, idle_out = tmp_path / "mixed", tmp_path / "idle"
    done = together((*MIXED, "--out", str(mixed_out)), (*IDLE, "--out", str(idle_out)), timeout=190)
    assert [run.returncode for run in done] == [0, 0], [run.stderr[-2000:] for run in done]
    migrate, reject = cells_of(mixed_out)
    users = migrate["by_kind"]["browser"]["users"]
    assert migrate["schema_compat"] == "migrate" and migrate["forced_relogins"] == 0
    assert reject["schema_compat"] == "reject" and reject["forced_relogins"] == reject["by_kind"]["browser"]["users"]
    assert users > 0 and reject["node_counters"]["schema_rejected"] > 0
    for cell in (migrate, reject):  # rolled back: a v1 node reads none of a v2 node's sessions, and says so
        assert cell["schema_unreadable"] == cell["schema_probed"] > 0 and cell["rollback_500s"] == 0
        assert cell["forced_relogins_agrees"] and cell["schema_unreadable_agrees"] and cell["verdict"] == "ok"
    (idle,) = cells_of(idle_out)
    assert idle["idle_gaps"] > 0 and idle["idle_gap_s"] == 5.0 and idle["session_ttl_s"] == 3
    assert idle["expired_after_idle"] == idle["idle_gaps"]  # 5 s > 3 s: every pause outlives the session
    assert idle["expired_while_active"] == 0 and idle["expired_while_active_agrees"] is True
    assert idle["moved_after_idle_agrees"] is True and idle["moved_after_idle"] > 0  # the 1 s affinity cookie lapsed
    assert idle["store_touches_agrees"] is True  # lazy: at most one touch per second per session
    assert idle["verdict"] == "ok", idle["theory"]  # the expiries after a pause are judged apart from placement
    no_server_errors([migrate, reject, idle])
