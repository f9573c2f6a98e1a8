"""Numbers read the same in every report: the compare report, capacity, the cross-check, the bench, the probe."""

from __future__ import annotations

from loadtest.render import format as F
from loadtest.render.table import Table


def test_milliseconds_keep_three_significant_digits_and_go_whole_from_100() -> None:
    assert [F.ms(v) for v in (1.6449, 22.159, 99.94, 100.4, 1234.5, None)] == [
        "1.64",
        "22.2",
        "99.9",
        "100",
        "1,234",
        "-",
    ]


def test_rates_shares_counts_ratios() -> None:
    assert F.pct(0.2164) == "21.6%" and F.pct(None) == "-"
    assert F.share(0.42) == "42%"
    assert F.count(1234) == "1,234" and F.count(1139.6) == "1,140"
    assert F.ratio(0.8549) == "0.85"


def test_sizes_in_powers_of_1024() -> None:
    assert [F.size(v) for v in (512, 4096, 4040, 1536 * 1024)] == ["512 B", "4.0 KB", "3.9 KB", "1.5 MB"]


def test_a_table_renders_markdown_with_figures_right_aligned_and_pipes_escaped() -> None:
    table = Table(["row", "req/s", "note"], [["a|b", "1,234", "x"]], align="lrl")
    assert table.markdown().splitlines() == ["| row | req/s | note |", "| --- | ---: | --- |", "| a\\|b | 1,234 | x |"]
