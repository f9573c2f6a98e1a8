"""The typed cell record: verdicts are an explicit list, and results.json is written from it in one place."""

from __future__ import annotations

import json

from loadtest.compare.record.cells import build_cell
from loadtest.compare.record.model import CellRecord, Verdict
from loadtest.compare.spec import CellSpec
from loadtest.users import tally as T
from tests.loadtest.compare.generated import START, stats_doc


def concurrent_record(acked: int, lost: int, consistency: str) -> CellRecord:
    stats = stats_doc(0.0)
    stats["per_second"][str(int(START))].update({T.key(T.BURSTS, "browser"): 3, T.key(T.ACKED, "browser"): acked,
                                                 T.key(T.LOST, "browser"): lost})  # fmt: skip
    return build_cell(CellSpec("sticky", "redis", "concurrent", 3, 30, 10.0, consistency=consistency), stats)


def test_a_scenario_s_own_verdict_joins_the_list_and_decides_the_cell() -> None:
    lossless, lossy = concurrent_record(60, 0, "cas"), concurrent_record(60, 5, "cas")  # cas promises 0 lost
    assert [v.measure for v in lossless.verdicts] == ["miss rate", "lost updates"]
    assert lossless.agrees_with_theory and lossless.to_json()["verdict"] == "ok"
    assert not lossy.agrees_with_theory and lossy.off_theory == ["lost updates"]
    assert lossy.to_json()["lost_update_agrees"] is False and lossy.to_json()["verdict"] == "DISAGREES WITH THEORY"


def test_a_verdict_not_judged_never_makes_a_cell_disagree() -> None:
    record = build_cell(CellSpec("random", "redis", "steady", 3, 30, 10.0), stats_doc(0.0))
    assert record.judged(Verdict("store_latency_agrees", "store latency", None)).agrees_with_theory
    assert not record.judged(Verdict("store_latency_agrees", "store latency", False)).agrees_with_theory


def test_later_measures_refine_the_core_and_the_json_round_trips() -> None:
    record = build_cell(CellSpec("random", "redis", "steady", 3, 30, 10.0), stats_doc(0.0))
    refined = record.with_measures("store", {"store_latency_ms": 2.0}).with_measures("store", {"store_rtt_ms": 2.1})
    data = refined.to_json()
    assert data["store_latency_ms"] == 2.0 and data["store_rtt_ms"] == 2.1
    assert data["routing"] == "random" and data["miss_rate"] == record.misses.miss_rate
    assert json.loads(json.dumps(data)) == data  # JSON-ready as it stands
