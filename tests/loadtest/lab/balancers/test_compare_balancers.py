"""`sessionlab compare --balancer LIST` for real: a node SIGKILLed and a reload/restart behind every balancer, with
the misses, errors, re-pins and replayed POSTs each records; nginx's missing sticky mode is a record that says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtest.lab.balancers import BALANCERS
from tests.support import results, together

pytestmark = pytest.mark.timeout(600)

KILL_AND_RELOAD = ("compare", "--store", "memory", "--routing", "sticky", "--scenario", "node-failure,balancer-reload",
                   "--users", "6", "--duration", "6", "--revocation-bound", "0")  # fmt: skip
# every balancer, in two runs at once (a cell's time is mostly its clock: 6 users, the kill at half time, the
# reload at a quarter and the restart at half of balancer-reload's 12 s); nginx's cells are not offered (no time)
HALVES = {"first": ("sessionlab", "nginx", "haproxy"), "second": ("caddy", "apache")}
SCALE_OUT = ("compare", "--balancer", "haproxy", "--store", "redis", "--routing", "random", "--scenario", "scale-out",
             "--users", "6", "--duration", "14", "--revocation-bound", "0")  # fmt: skip
MEASURES = ("distinct_nodes_per_session", "repins", "repins_after_event", "cookie_reissued", "errors_idempotent",
            "errors_non_idempotent", "posts_replayed", "misses", "errors")  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    outs = {name: tmp_path_factory.mktemp(f"balancers-{name}") for name in (*HALVES, "scale")}
    kills = [(*KILL_AND_RELOAD, "--balancer", ",".join(names), "--out", str(outs[half]))
             for half, names in HALVES.items()]  # fmt: skip
    done = together(*kills, (*SCALE_OUT, "--out", str(outs["scale"])), timeout=560)
    for run in done:
        assert run.returncode in (0, 3), run.stderr[-2000:]
    return outs


def cells_of(runs: dict[str, Path]) -> dict[tuple[str, str], dict[str, Any]]:
    """The kill and reload cells of both halves, by (balancer, scenario)."""
    return {(c["balancer"], c["scenario"]): c for half in HALVES for c in results(runs[half])["cells"]}


def out_of(runs: dict[str, Path], balancer: str) -> Path:
    return next(runs[half] for half, names in HALVES.items() if balancer in names)


def test_every_balancer_has_its_cells_and_nginx_says_sticky_is_not_offered(runs: dict[str, Path]) -> None:
    assert {name for names in HALVES.values() for name in names} == set(BALANCERS)
    cells = cells_of(runs)
    assert set(cells) == {(b, s) for b in BALANCERS for s in ("node-failure", "balancer-reload")}
    for scenario in ("node-failure", "balancer-reload"):
        nginx = cells[("nginx", scenario)]
        assert nginx["verdict"] == "not offered" and "nginx Plus" in nginx["not_offered"]
    report = (out_of(runs, "haproxy") / "report.md").read_text()
    assert "## Scenario: node-failure, behind haproxy" in report and "not offered: nginx open source" in report


def test_a_killed_node_behind_each_balancer_records_misses_errors_repins_and_replays_no_post(
    runs: dict[str, Path],
) -> None:
    for (balancer, scenario), cell in cells_of(runs).items():
        if scenario != "node-failure" or cell["verdict"] in ("not offered", "skipped"):
            continue
        assert cell["killed_node"] == "node-1", balancer
        assert all(cell.get(key) is not None for key in MEASURES), (balancer, {k: cell.get(k) for k in MEASURES})
        assert cell["posts_replayed"] == 0, balancer
        assert cell["errors_idempotent"] + cell["errors_non_idempotent"] == cell["errors"], balancer
        assert cell["verdict"] in ("ok", "not modelled", "DISAGREES WITH THEORY")
        config = out_of(runs, balancer) / "configs" / balancer / "sticky"
        assert any(config.iterdir()), balancer  # the generated config, beside the report


def test_balancer_reload_records_its_misses_and_errors(runs: dict[str, Path]) -> None:
    for (balancer, scenario), cell in cells_of(runs).items():
        if scenario != "balancer-reload" or cell["verdict"] in ("not offered", "skipped"):
            continue
        kinds = [event.get("reloaded") for event in cell["events"]]
        assert kinds == ["reload", "restart"], (balancer, cell["events"])
        assert cell["misses"] >= 0 and cell["errors"] >= 0 and cell["posts_replayed"] == 0, balancer


def test_a_scale_out_through_haproxys_runtime_api_records_the_seconds_to_a_fair_share(runs: dict[str, Path]) -> None:
    (cell,) = results(runs["scale"])["cells"]
    if cell["verdict"] == "skipped":
        pytest.skip(cell["skipped"])
    assert any(event.get("added") == "node-4" for event in cell["events"])
    assert "fair_share_s" in cell and cell["fair_share"] == 0.25
    assert cell["node_requests"].get("node-4", 0) > 0  # added with `add server`, it took requests
