"""The shared contract (nodes/contract/names.py) agrees with every registry and settings object that uses it."""

from __future__ import annotations

import pathlib
import re

from balancer.routing import POLICIES
from balancer.settings import BalancerSettings
from nodes.contract import names
from nodes.settings import NodeSettings
from nodes.stores import SESSION_STORES

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_routing_mode_has_a_policy_and_every_policy_a_name() -> None:
    import balancer.routing  # noqa: F401 - importing registers the policies

    assert set(POLICIES) == set(names.ROUTING_MODES)


def test_every_store_has_a_factory_and_every_factory_a_name() -> None:
    assert set(SESSION_STORES) == set(names.NODE_STORES)  # the lab's STORES plus replicated


def test_settings_defaults_come_from_the_contract() -> None:
    node = NodeSettings.from_env({})
    balancer = BalancerSettings.from_env({"BALANCER_UPSTREAMS": "http://127.0.0.1:1"})
    assert (node.store, node.max_age, node.cookie_name, node.token_header) == (
        names.DEFAULT_STORE,
        names.DEFAULT_MAX_AGE,
        names.SESSION_COOKIE,
        names.TOKEN_HEADER,
    )
    assert node.consistency == names.default_consistency(names.DEFAULT_STORE)
    assert (balancer.routing, balancer.session_cookie, balancer.session_header, balancer.sticky_cookie) == (
        names.DEFAULT_ROUTING,
        names.SESSION_COOKIE,
        names.TOKEN_HEADER,
        names.AFFINITY_COOKIE,
    )


def test_cookie_sessions_cannot_run_cas() -> None:
    assert names.consistency_modes("cookie") == ("last_write_wins",)
    assert all(names.consistency_modes(store)[0] == "cas" for store in names.STORES if store != "cookie")


# Names that are a whole quoted literal wherever they are copied.
LITERALS = (
    names.SESSION_COOKIE,
    names.TOKEN_HEADER,
    names.AFFINITY_COOKIE,
    names.NODE_ID_HEADER,
    *names.CONSISTENCY_MODES,
)
# Paths: a quoted URL that holds one (no whitespace before it in the string: help texts may name them in prose).
PATHS = (names.BALANCER_STATUS_PATH, names.BALANCER_METRICS_PATH, names.BALANCER_UPSTREAMS_PATH)
# Routing and store names are common words ("hash", "memory", "random"), so only quoted lists of two or more are
# caught: every one of those is a copy of ROUTING_MODES or STORES (or of a subset, to build from the constants).
LISTS = tuple(
    re.compile(rf"[\"'](?:{alternatives})[\"']\s*,\s*[\"'](?:{alternatives})[\"']")
    for alternatives in ("|".join(names.ROUTING_MODES), "|".join(names.NODE_STORES))
)
# The replication peers' compare-and-set endpoint (REPLICATION_PREFIX + "cas") is a path, not a consistency mode.
PEER_ENDPOINT = re.compile(r'(prefix \+ |_post_json\(peer, )"cas"')
PATTERNS = (
    *(re.compile(rf"[\"']{re.escape(name)}[\"']") for name in LITERALS),
    *(re.compile(rf"[\"'][^\"'\s]*{re.escape(path)}") for path in PATHS),
    *LISTS,
)


def offending_lines(source: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
    """Lines of `source` that spell out a contract name; lists may span lines, so the file is matched whole."""
    lines = source.read_text().splitlines()
    code = "\n".join(PEER_ENDPOINT.sub("", line.split("#", 1)[0]) for line in lines)
    numbers = sorted({code.count("\n", 0, found.start()) + 1 for rx in PATTERNS for found in rx.finditer(code)})
    return [f"{source.relative_to(root)}:{n}: {lines[n - 1].strip()}" for n in numbers]


def test_contract_names_are_spelled_out_nowhere_else_in_the_services_and_the_lab() -> None:
    """A second literal copy of a shared name is how the old tree drifted; only the contract spells them."""
    offenders = []
    for path in sorted((ROOT / p) for p in ("nodes", "balancer", "loadtest")):
        for source in sorted(path.rglob("*.py")):
            if source.parent.name != "contract":
                offenders += offending_lines(source)
    assert offenders == []


def test_the_literal_check_finds_each_kind_of_copy_and_not_prose(tmp_path: pathlib.Path) -> None:
    """A check that finds nothing passes on any tree: this one is shown to find what it looks for."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        'MODE = "last_write_wins"\n'
        'API = f"{url}/_balancer/upstreams/drain"\n'
        'MODES = (\n    "random",\n    "sticky",\n)\n'
        'STORES = ["memory", "redis"]\n'
        'HELP = "GET /_balancer/status; the memory store"  # "cas" in a comment\n'
        'app.router.add_post(prefix + "cas", compare_and_set)\n'
    )
    assert [line.split(":")[1] for line in offending_lines(probe, tmp_path)] == ["1", "2", "4", "7"]
