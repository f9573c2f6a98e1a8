"""The scenario registry: one entry per scenario, and it is what `sessionlab compare --scenario` offers."""

from __future__ import annotations

import pytest

from loadtest.compare.matrix import plan
from loadtest.compare.options import default_scenarios, parse_args
from loadtest.compare.scenarios import SCENARIOS, scenario_for


def test_every_scenario_module_registers_one_scenario_with_a_description() -> None:
    assert {"steady", "node-failure", "concurrent"} <= set(SCENARIOS)
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name and scenario.description and "\n" not in scenario.description


def test_scenario_choices_come_from_the_registry() -> None:
    for name in SCENARIOS:  # a store-only scenario plans no memory cell, but --scenario accepts every name
        cells = plan(parse_args(["--scenario", name, "--routing", "random"]))
        assert {spec.scenario for spec in cells} == {name}


def test_an_unknown_scenario_is_a_usage_error_naming_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--scenario", "nope"])
    assert "steady,node-failure,concurrent" in capsys.readouterr().err


def test_all_runs_every_registered_scenario_and_the_default_only_those_in_the_default_matrix() -> None:
    everything = {spec.scenario for spec in plan(parse_args(["--all"]))}
    assert everything == set(SCENARIOS)
    default = {spec.scenario for spec in plan(parse_args([]))}
    not_default = {"scale-out", "balancer-reload", "store-full", "mixed-version"}  # --all runs them
    assert default == set(default_scenarios()) == set(SCENARIOS) - not_default


def test_an_unknown_name_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown scenario 'nope': expected one of steady, node-failure"):
        scenario_for("nope")
