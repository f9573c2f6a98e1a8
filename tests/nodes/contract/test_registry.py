"""The one registry shape every plug-in point uses: ordered, named, refusing doubles and naming the choices."""

from __future__ import annotations

import pytest

from balancer.routing import POLICIES
from loadtest.cli import SUBCOMMANDS
from loadtest.compare.report.figures.plots import FIGURES
from loadtest.compare.scenarios import SCENARIOS
from nodes.contract.registry import Registry, UnknownName
from nodes.stores import SESSION_STORES


class _Plugin:
    def __init__(self, name: str) -> None:
        self.name = name


def test_entries_keep_the_order_they_were_listed_in() -> None:
    registry = Registry.of_named("widget", [_Plugin("b"), _Plugin("a"), _Plugin("c")])
    assert list(registry) == ["b", "a", "c"] and registry["a"].name == "a" and len(registry) == 3


def test_a_name_listed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="widget 'a' is registered twice"):
        Registry("widget", [("a", 1), ("a", 2)])


def test_an_unknown_name_is_one_line_naming_the_valid_ones() -> None:
    registry = Registry("widget", [("a", 1), ("b", 2)])
    with pytest.raises(UnknownName) as raised:
        registry["z"]
    assert str(raised.value) == "unknown widget 'z': expected one of a, b"
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, KeyError)
    assert "z" not in registry and registry.get("z") is None


@pytest.mark.parametrize("registry", [POLICIES, SESSION_STORES, SCENARIOS, FIGURES, SUBCOMMANDS])
def test_every_plug_in_point_is_a_registry(registry: object) -> None:
    assert isinstance(registry, Registry) and len(registry) > 0
