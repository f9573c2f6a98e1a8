"""A cell's load-model figures from what the locustfile wrote: the achieved rate, who fell short, the flag."""

from __future__ import annotations

from typing import Any

from loadtest.compare.record.loadfigures import cell_fields, with_latency
from loadtest.users import hdr


def stats(rate: float, sent: int, missed: int = 0, late: int = 0, queued: int = 0) -> dict[str, Any]:
    counts = {"scheduled:all": sent, "missed_starts:all": missed, "late_starts:all": late, "queued_starts:all": queued}
    return {"open_loop": {"arrival_rate": rate, "poisson": False, "users": 10}, "per_second": {"100": counts}}


def test_a_closed_loop_run_says_so() -> None:
    assert cell_fields({"per_second": {}}) == {"load_model": "closed", "arrival_rate": None}


def test_the_achieved_rate_counts_the_starts_never_sent() -> None:
    fields = cell_fields(stats(200.0, sent=1900, missed=100))
    assert fields["load_model"] == "open" and fields["achieved_rps"] == 190.0
    assert fields["rate_kept"] is True and fields["generator_behind"] is False


def test_late_starts_flag_the_generator_and_queued_ones_blame_the_system() -> None:
    late = cell_fields(stats(100.0, sent=800, missed=200, late=300, queued=10))
    assert late["rate_short_by"] == "generator" and late["generator_behind"] is True
    assert "achieved 80 of 100" in late["generator_note"] and "late" in late["generator_note"]
    slow = cell_fields(stats(100.0, sent=800, missed=200, late=5, queued=400))
    assert slow["rate_short_by"] == "system" and slow["generator_kept_rate"] is True
    assert slow["generator_behind"] is False  # 5 late starts of 800: within the 1% budget


def test_timeline_rows_gain_their_seconds_percentiles() -> None:
    recorder = hdr.Recorder()
    for ms in (1.0, 2.0, 900.0):
        recorder.record(hdr.LATENCY, ms, now=101.2)
    rows = with_latency([{"t": -0.5}, {"t": 0.5}], {"test_start": 100.5, "hdr": recorder.encode()})  # seconds 100, 101
    assert rows[0]["p99_ms"] is None and rows[0]["answered"] == 0
    assert rows[1]["answered"] == 3 and rows[1]["p50_ms"] == 2.0 and 899 < rows[1]["p99_ms"] < 901
