"""Which cells `sessionlab compare` plans: the concurrent scenario's consistency modes and the logout-all probes."""

from __future__ import annotations

import pytest

from loadtest.compare.matrix import plan
from loadtest.compare.options import parse_args
from nodes.contract.names import ROUTING_MODES


def labels(*argv: str) -> list[str]:
    return [spec.label for spec in plan(parse_args(list(argv)))]


def test_the_default_matrix_fits_ten_minutes_and_all_runs_everything() -> None:
    cells = plan(parse_args([]))
    # steady 5, node-failure 5, concurrent 3, store-failure 2 (memory, redis), 3 x 3 membership changes and a
    # rolling deploy on cookie + random
    assert len(cells) == 5 + 5 + 3 + 2 + 3 * 3 + 1
    assert {spec.label for spec in cells if spec.store == "cookie"} >= {
        "random / cookie / node-failure",
        "random / cookie / rolling-deploy",
    }
    assert not [spec for spec in cells if spec.routing in ("round_robin", "route")]  # --all runs them
    concurrent = [spec.label for spec in cells if spec.scenario == "concurrent"]
    assert concurrent == [
        "sticky / cookie / concurrent / last_write_wins",  # the client holds cookie sessions: no cas
        "sticky / redis / concurrent / cas",
        "sticky / redis / concurrent / last_write_wins",
    ]
    every = plan(parse_args(["--all"]))
    # membership: the 4 routings with a theory; store-failure per store (random), store-failover (+ WAIT) on redis
    # steady, node-failure and balancer-reload per routing and store
    assert len(every) == len(ROUTING_MODES) * 3 * 3 + 5 + 3 * 4 * 3 + 3 + 2
    assert "sticky / memory / concurrent / cas" in [spec.label for spec in every]


def test_quick_asks_for_no_concurrent_cell_unless_told() -> None:
    assert all(spec.scenario == "node-failure" for spec in plan(parse_args(["--quick"])))
    assert labels("--quick", "--scenario", "concurrent", "--store", "redis", "--consistency", "cas") == [
        "sticky / redis / concurrent / cas"
    ]


def test_routing_and_consistency_narrow_the_concurrent_cells() -> None:
    assert labels("--scenario", "concurrent", "--routing", "random", "--store", "redis,cookie") == [
        "random / redis / concurrent / cas",
        "random / redis / concurrent / last_write_wins",
        "random / cookie / concurrent / last_write_wins",
    ]
    assert labels("--scenario", "concurrent", "--store", "cookie", "--consistency", "cas") == [
        "sticky / cookie / concurrent / last_write_wins"
    ]


def test_logout_all_is_measured_once_per_store_and_routing() -> None:
    cells = plan(parse_args(["--routing", "random,sticky", "--store", "memory"]))
    measured = [(spec.routing, spec.scenario) for spec in cells if spec.revocation_bound]
    assert measured == [("random", "steady"), ("sticky", "steady")]
    assert {spec.revocation_bound for spec in cells if spec.revocation_bound} == {5.0}
    assert {spec.revocation_bound for spec in plan(parse_args(["--quick"]))} == {2.0}  # one cell per store x routing
    assert not any(spec.revocation_bound for spec in plan(parse_args(["--revocation-bound", "0"])))


def test_replicated_runs_one_cell_per_replication_mode_and_nodes_sweeps_the_count() -> None:
    cells = plan(parse_args(["--store", "replicated,memory", "--replication", "all-sync,all-async,backup-sync",
                             "--routing", "route", "--scenario", "steady", "--nodes", "2,3,5"]))  # fmt: skip
    assert [(spec.nodes, spec.store_label) for spec in cells] == [
        (nodes, store)
        for nodes in (2, 3, 5)
        for store in ("replicated all-sync", "replicated all-async", "replicated backup-sync", "memory")
    ]
    assert {spec.routing for spec in cells} == {"route"}
    measured = [(spec.nodes, spec.store_label) for spec in cells if spec.revocation_bound]
    assert measured[:4] == [(2, "replicated all-sync"), (2, "replicated all-async"), (2, "replicated backup-sync"),
                            (2, "memory")]  # fmt: skip


def test_replication_and_nodes_are_checked() -> None:
    for argv in (["--replication", "all-sometimes"], ["--nodes", "1,3"], ["--nodes", "three"]):
        with pytest.raises(SystemExit):
            parse_args(argv)
    assert parse_args([]).replication == ("all-sync",)  # the default mode: Tomcat's DeltaManager, synchronous


def test_each_balancer_runs_the_whole_matrix_as_a_block_of_its_own() -> None:
    ours = plan(parse_args(["--store", "memory", "--routing", "sticky,hash", "--scenario", "steady"]))
    both = plan(parse_args(["--store", "memory", "--routing", "sticky,hash", "--scenario", "steady",
                            "--balancer", "sessionlab,haproxy"]))  # fmt: skip
    assert {spec.balancer for spec in ours} == {"sessionlab"}
    assert [spec.balancer for spec in both] == ["sessionlab"] * len(ours) + ["haproxy"] * len(ours)
    assert [spec.label for spec in both][len(ours) :] == [f"haproxy: {spec.label}" for spec in ours]
    assert len(plan(parse_args(["--scenario", "steady", "--balancer", "all"]))) == 5 * len(
        plan(parse_args(["--scenario", "steady"]))
    )
