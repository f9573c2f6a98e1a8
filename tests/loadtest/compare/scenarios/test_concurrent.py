"""concurrent: its own users, sticky unless told, one cell per consistency mode, and the lost-update theory."""

from __future__ import annotations

from loadtest.compare.scenarios import scenario_for
from tests.loadtest.compare.generated import concurrent_cell


def test_concurrent_runs_its_own_users_pinned_by_sticky_in_every_mode_the_store_has() -> None:
    concurrent = scenario_for("concurrent")
    assert concurrent.users == ("ConcurrentUser",) and concurrent.routings == ("sticky",)
    assert concurrent.variants("redis", ("cas", "last_write_wins")) == ("cas", "last_write_wins")
    assert concurrent.variants("cookie", ("cas",)) == ("last_write_wins",)  # the client holds cookie sessions
    assert concurrent.events(None) == []  # type: ignore[arg-type]


def test_cas_loses_nothing_and_a_lost_increment_under_cas_is_flagged() -> None:
    assert concurrent_cell("redis", "cas", acked=100, lost=0)["verdict"] == "ok"
    flagged = concurrent_cell("redis", "cas", acked=100, lost=1)
    assert flagged["lost_update_agrees"] is False and flagged["verdict"] == "DISAGREES WITH THEORY"


def test_last_write_wins_losses_are_reported_not_predicted() -> None:
    record = concurrent_cell("cookie", "last_write_wins", acked=100, lost=30)
    assert record["lost_update_expected"] is None and record["verdict"] == "ok"
    assert record["increments_lost"] == 30 and record["lost_update_rate"] == 0.3
