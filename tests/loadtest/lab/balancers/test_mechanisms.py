"""The mode → mechanism table is written once: the plug-ins, the docs page and the report all show that one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loadtest.lab.balancers import BALANCERS, Front, Upstream, parse_balancers
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


# How a directive the table quotes is written in the generated config where the syntax differs: Caddy's table speaks
# its Caddyfile (`lb_policy cookie NAME`), the lab loads the same policy as JSON ({"policy": "cookie", ...}).
CADDY_POLICY = re.compile(r"^lb_policy (\w+)(?: (\S+))?$")


def quoted(directive: str) -> list[str]:
    """The directives a mechanism quotes in backticks (ours: its BALANCER_ROUTING=mode setting)."""
    found = re.findall(r"`([^`]+)`", directive)
    return found or re.findall(r"BALANCER_ROUTING=\w+", directive)


def written(balancer: str, snippet: str, config: str) -> bool:
    """The quoted directive is in the config: NODE stands for a member's name, `…` for anything."""
    if balancer == "caddy" and (policy := CADDY_POLICY.match(snippet)):
        name, argument = policy.groups()
        return f'"policy": "{name}"' in config and (argument is None or f'"{argument}"' in config)
    if balancer == "caddy" and snippet == "request_header":
        return '"handler": "headers"' in config
    parts = [part.strip() for part in re.split(r"…|\.\.\.", snippet.replace("NODE", "node-1"))]
    return all(part in config for part in parts if part)


OFFERED = [(b, mode) for mode, row in TABLE.items() for b, cell in row.items() if cell.offered]


@pytest.mark.parametrize(("balancer", "mode"), OFFERED)
def test_every_directive_the_table_quotes_is_in_the_config_the_lab_generates(
    balancer: str, mode: str, tmp_path: Path
) -> None:
    """The Recommendation and the report quote the table: it must say what the generated configs do."""
    members = [Upstream(f"node-{i}", f"127.0.0.1:{9000 + i}") for i in (1, 2, 3)]
    plugin = BALANCERS[balancer](Front(mode, "127.0.0.1", 8080, tmp_path, members))
    config = "\n".join(plugin.config_files().values())
    directive = TABLE[mode][balancer].directive or ""
    snippets = quoted(directive)
    assert snippets or "(the default)" in directive, (balancer, mode)
    for snippet in snippets:
        assert written(balancer, snippet, config), (balancer, mode, snippet)
