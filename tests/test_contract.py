"""The shared contract (nodes/contract/names.py) agrees with every registry and settings object that uses it."""

from __future__ import annotations

import pathlib
import re

from balancer.routing.base import POLICIES
from balancer.settings import BalancerSettings
from nodes.contract import names
from nodes.settings import NodeSettings
from nodes.stores import STORE_FACTORIES

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_routing_mode_has_a_policy_and_every_policy_a_name() -> None:
    import balancer.routing  # noqa: F401 - importing registers the policies

    assert set(POLICIES) == set(names.ROUTING_MODES)


def test_every_store_has_a_factory_and_every_factory_a_name() -> None:
    assert set(STORE_FACTORIES) == set(names.NODE_STORES)  # the lab's STORES plus replicated


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


def test_contract_names_are_spelled_out_nowhere_else_in_the_services_and_the_lab() -> None:
    """A second literal copy of a shared name is how the old tree drifted; only the contract spells them."""
    literals = [names.SESSION_COOKIE, names.TOKEN_HEADER, names.AFFINITY_COOKIE, names.NODE_ID_HEADER]
    offenders = []
    for path in sorted((ROOT / p) for p in ("nodes", "balancer", "loadtest")):
        for source in path.rglob("*.py"):
            if source.parent.name == "contract":
                continue
            for lineno, line in enumerate(source.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if any(re.search(rf"[\"']{re.escape(name)}[\"']", code) for name in literals):
                    offenders.append(f"{source.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert offenders == []
