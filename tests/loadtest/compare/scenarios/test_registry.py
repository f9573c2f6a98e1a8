"""The scenario registry: one entry per module, and it is what `sessionlab compare --scenario` offers."""

from __future__ import annotations

import pytest

from loadtest.compare.command import parse_args, plan
from loadtest.compare.scenarios import SCENARIOS, Scenario, register, scenario_for


def test_every_scenario_module_registers_one_scenario_with_a_description() -> None:
    assert {"steady", "node-failure", "concurrent"} <= set(SCENARIOS)
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name and scenario.description and "\n" not in scenario.description


def test_scenario_choices_come_from_the_registry() -> None:
    @register
    class Probe(Scenario):
        name = "registry-probe"
        description = "registered by this test only"

    try:
        cells = plan(parse_args(["--scenario", "registry-probe", "--store", "memory", "--routing", "random"]))
        assert [spec.label for spec in cells] == ["random / memory / registry-probe"]
    finally:
        del SCENARIOS["registry-probe"]
    with pytest.raises(SystemExit):
        parse_args(["--scenario", "registry-probe"])


def test_an_unknown_scenario_is_a_usage_error_naming_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--scenario", "nope"])
    assert "steady,node-failure,concurrent" in capsys.readouterr().err


def test_all_runs_every_registered_scenario_and_the_default_only_those_in_the_default_matrix() -> None:
    everything = {spec.scenario for spec in plan(parse_args(["--all"]))}
    assert everything == set(SCENARIOS)
    default = {spec.scenario for spec in plan(parse_args([]))}
    assert default == {name for name, s in SCENARIOS.items() if s.in_default}


def test_a_name_registered_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        register(type("Again", (Scenario,), {"name": "steady", "description": "x"}))
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario_for("nope")
