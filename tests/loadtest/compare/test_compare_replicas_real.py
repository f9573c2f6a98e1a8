"""`sessionlab compare --balancer all --balancer-replicas 2` for real: the users spread over both replicas of every
balancer, each cell records the affinity agreement beside its theory, the report shows it, and each balancer's
generated config is saved beside the report exactly as the balancer read it, and linked from the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtest.lab.balancers import BALANCERS
from tests.support import results, sessionlab

pytestmark = pytest.mark.timeout(400)

RUN = ("compare", "--balancer", "all", "--balancer-replicas", "2", "--store", "memory", "--routing", "hash",
       "--scenario", "steady", "--users", "6", "--duration", "5", "--revocation-bound", "0")  # fmt: skip


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("replicas")
    run = sessionlab(*RUN, "--out", str(folder), timeout=380)
    assert run.returncode in (0, 3), run.stderr[-2000:]
    return folder


def ran(out: Path) -> list[dict[str, Any]]:
    return [c for c in results(out)["cells"] if c["verdict"] not in ("not offered", "skipped")]


def test_users_spread_over_both_replicas_and_both_send_each_session_to_one_node(out: Path) -> None:
    cells = ran(out)
    assert {c["balancer"] for c in cells} >= {"sessionlab"}
    for cell in cells:
        spread = cell["users_by_replica"]
        assert len(spread) == 2 and sum(spread.values()) == 6 and min(spread.values()) == 3, cell["balancer"]
        assert cell["affinity_replicas"] == 2 and cell["affinity_agreement_theory"] == 1.0
        assert cell["affinity_agreement"] == 1.0 and cell["affinity_agreement_app"] == 1.0, cell["balancer"]
        assert cell["affinity_agrees_with_theory"] is True
    report = (out / "report.md").read_text()
    assert "Affinity agreement, HAProxy replicas" in report or "haproxy" not in {c["balancer"] for c in cells}
    assert "100.0% (theory 100.0%)" in report


def test_each_balancers_config_is_saved_beside_the_report_as_it_ran_and_linked(out: Path) -> None:
    report, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for cell in ran(out):
        name = cell["balancer"]
        saved = out / "configs" / name / "hash"
        files = sorted(path.name for path in saved.iterdir())
        assert files, name
        logs = out / "cells" / f"{'' if name == 'sessionlab' else name + '-'}x2-memory-hash-steady"
        for file in files:  # the first replica's own file: what the binary read
            assert (saved / file).read_text() == (logs / "logs" / name / file).read_text(), (name, file)
        assert f"`configs/{name}/hash/`" in report and f'href="configs/{name}/hash/"' in page, name
    assert set(BALANCERS) - {c["balancer"] for c in ran(out)} <= {"apache"}  # apache: hash not offered
