"""The mode → mechanism table is written once: the plug-ins, the docs page and the report all show that one."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.lab.balancers import BALANCERS, parse_balancers
from loadtest.lab.balancers.mechanisms import TABLE, markdown_table
from nodes.contract.names import ROUTING_MODES

DOCS = Path(__file__).resolve().parents[4] / "docs" / "balancers.md"


def test_the_docs_page_shows_the_table_the_code_uses() -> None:
    assert markdown_table() in DOCS.read_text()


def test_every_balancer_has_a_cell_for_every_mode_and_ours_offers_them_all() -> None:
    assert set(TABLE) == set(ROUTING_MODES)
    for mode, row in TABLE.items():
        assert set(row) == set(BALANCERS), mode
        assert row["sessionlab"].offered
        for balancer, cell in row.items():
            assert cell.offered or "not offered" in cell.describe() and cell.not_offered, (mode, balancer)


def test_balancer_lists_parse_and_an_unknown_name_names_the_valid_ones() -> None:
    assert parse_balancers("all") == tuple(BALANCERS)
    assert parse_balancers("haproxy, nginx") == ("haproxy", "nginx")
    with pytest.raises(ValueError, match="expected one of sessionlab, nginx, haproxy, caddy, apache"):
        parse_balancers("traefik")
