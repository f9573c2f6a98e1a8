"""Scenarios of `sessionlab compare`, one module each; importing this package registers them all.

Adding one: a module with a `@register`ed `Scenario` subclass, its import line below (the import order is the
matrix's and the report's order), and its test under tests/loadtest/compare/scenarios/.
"""

# isort: off
from loadtest.compare.scenarios import steady  # noqa: F401 - registers it
from loadtest.compare.scenarios import node_failure  # noqa: F401
from loadtest.compare.scenarios import concurrent  # noqa: F401
from loadtest.compare.scenarios import store_failure  # noqa: F401
from loadtest.compare.scenarios import store_failover  # noqa: F401
from loadtest.compare.scenarios import rolling_deploy  # noqa: F401
from loadtest.compare.scenarios import scale_out  # noqa: F401
from loadtest.compare.scenarios import scale_in  # noqa: F401

# isort: on
from loadtest.compare.scenarios.base import SCENARIOS, Event, Scenario, register, scenario_for

__all__ = ["SCENARIOS", "Event", "Scenario", "register", "scenario_for"]
