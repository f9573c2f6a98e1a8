"""The detail tables: the Errors table shows the failures by status and what theory expected."""

from __future__ import annotations

from loadtest.compare.report.tables import GROUPS, build_table

from ..generated import cell

ERRORS = next(group for group in GROUPS if group.title == "Errors")


def test_errors_by_status_and_their_theory() -> None:
    down = {**cell("random", "redis", "steady", 0.0), "scenario": "store-failure", "errors": 443,
            "errors_by_status": {"503": 443}, "expected_errors": None, "errors_allowed": None}  # fmt: skip
    deploy = {**cell("sticky", "memory", "steady", 0.0), "scenario": "rolling-deploy", "errors": 1,
              "errors_by_status": {"502": 1, "connection": 2}, "expected_errors": 0, "errors_allowed": 5}  # fmt: skip
    table = build_table(ERRORS, [down, deploy])
    assert table.headers == ["cell", "errors", "error rate", "by status", "theory"]
    column = dict(zip(table.headers, zip(*table.rows, strict=True), strict=True))
    assert column["by status"] == ("503: 443", "502: 1, connection: 2")
    assert column["theory"] == ("-", "0 (≤ 5 allowed)")


def test_columns_with_nothing_in_any_cell_are_left_out() -> None:
    quiet = {**cell("random", "redis", "steady", 0.0), "errors_by_status": {}, "expected_errors": None}
    assert build_table(ERRORS, [quiet]).headers == ["cell", "errors", "error rate"]
