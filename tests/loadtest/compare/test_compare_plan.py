"""Which cells `sessionlab compare` plans: the concurrent scenario's consistency modes and the logout-all probes."""

from __future__ import annotations

import pytest

from loadtest.compare.matrix import plan
from loadtest.compare.options import parse_args
from loadtest.compare.scenarios import scenario_for
from nodes.contract.names import ROUTING_MODES


def labels(*argv: str) -> list[str]:
    return [spec.label for spec in plan(parse_args(list(argv)))]


def test_the_default_matrix_fits_ten_minutes_and_all_runs_everything() -> None:
    cells = plan(parse_args([]))
    # memory 6 (steady x3, node-failure x2, a deploy), cookie 3, redis with AOF 7 and the naive Redis beside it in
    # store-failure, Sentinel with and without WAIT, replicated all-sync and backup-sync x3
    assert len(cells) == 6 + 3 + 7 + 1 + 2 + 2 * 3
    assert sum(spec.duration for spec in cells) <= 414  # + about 4 s a cell: under 10 minutes on 2 idle cores
    assert {spec.label for spec in cells if spec.store == "cookie"} >= {"random / cookie / node-failure"}
    assert not [spec for spec in cells if spec.routing == "round_robin"]  # --all runs it
    assert [spec.label for spec in cells if spec.routing == "route"] == ["route / memory / steady"]  # tokens
    concurrent = [spec.label for spec in cells if spec.scenario == "concurrent"]
    assert concurrent == [
        "sticky / cookie / concurrent / last_write_wins",  # the client holds cookie sessions: no cas
        "sticky / redis / concurrent / cas / aof",
        "sticky / redis / concurrent / last_write_wins / aof",
    ]
    postures = {(spec.scenario, spec.posture(scenario_for(spec.scenario).store_setup)) for spec in cells}
    assert {
        ("store-failure", "redis (AOF)"),
        ("store-failure", "redis (no persistence)"),
        ("store-failover", "redis (Sentinel)"),
        ("store-failover-wait", "redis (Sentinel, WAIT 1)"),
    } <= postures
    for mode in ("all-sync", "backup-sync"):
        assert {s for s, p in postures if p == f"replicated {mode}"} == {"steady", "node-failure", "rolling-deploy"}
    assert {spec.redis_persistence for spec in cells if spec.store == "redis" and "store-f" not in spec.scenario} == {
        "aof"
    }
    every = plan(parse_args(["--all"]))
    # membership: the 4 routings with a theory; store-failure per store (random), store-failover (+ WAIT) on redis
    # steady, node-failure and balancer-reload per routing and store; store-full per store (random; redis once per
    # eviction policy), mixed-version per store and schema compat mode (sticky)
    assert len(every) == len(ROUTING_MODES) * 3 * 3 + 5 + 3 * 4 * 3 + 3 + 2 + 4 + 3 * 2
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


def test_behind_the_other_balancers_the_default_matrix_runs_only_what_a_balancer_can_change() -> None:
    """A store fault or parallel writes on one pinned session are the store's doing: behind ours alone; so is
    logout-all, measured once per store x routing over every balancer."""
    ours, every = plan(parse_args([])), plan(parse_args(["--balancer", "all"]))
    assert [spec for spec in every if spec.balancer == "sessionlab"] == ours
    behind_others = {spec.scenario for spec in every if spec.balancer != "sessionlab"}
    assert behind_others == {"steady", "node-failure", "rolling-deploy", "scale-in"}
    assert not [spec for spec in every if spec.balancer != "sessionlab" and spec.revocation_bound]
    asked = plan(parse_args(["--balancer", "all", "--store", "redis", "--scenario", "store-failure"]))
    assert {spec.balancer for spec in asked} == {"sessionlab", "nginx", "haproxy", "caddy", "apache"}  # when asked


def test_logout_all_is_measured_on_a_cell_that_runs() -> None:
    cells = plan(parse_args(["--balancer", "nginx,haproxy", "--store", "memory", "--routing", "sticky",
                             "--scenario", "steady"]))  # fmt: skip
    assert [(spec.balancer, spec.revocation_bound > 0) for spec in cells] == [("nginx", False), ("haproxy", True)]
