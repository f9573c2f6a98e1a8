"""Scenarios of `sessionlab compare`, one module each, listed once in `SCENARIOS`.

Adding one: a module with a `Scenario` subclass, its entry below (the order is the matrix's and the report's
order), and its test under tests/loadtest/compare/scenarios/.
"""

from __future__ import annotations

from loadtest.compare.scenarios.balancer_reload import BalancerReload
from loadtest.compare.scenarios.base import Event, Scenario
from loadtest.compare.scenarios.concurrent import Concurrent
from loadtest.compare.scenarios.mixed_version import MixedVersion
from loadtest.compare.scenarios.node_failure import NodeFailure
from loadtest.compare.scenarios.rolling_deploy import RollingDeploy
from loadtest.compare.scenarios.scale_in import ScaleIn
from loadtest.compare.scenarios.scale_out import ScaleOut
from loadtest.compare.scenarios.steady import Steady
from loadtest.compare.scenarios.store_failover import StoreFailover, StoreFailoverWait
from loadtest.compare.scenarios.store_failure import StoreFailure
from loadtest.compare.scenarios.store_full import StoreFull
from nodes.contract.registry import Registry

SCENARIOS: Registry[type[Scenario]] = Registry.of_named(
    "scenario",
    (
        Steady,
        NodeFailure,
        Concurrent,
        StoreFailure,
        StoreFailover,
        StoreFailoverWait,
        StoreFull,
        RollingDeploy,
        MixedVersion,
        ScaleOut,
        ScaleIn,
        BalancerReload,
    ),
)


def scenario_for(name: str) -> Scenario:
    """The scenario `--scenario NAME` selects (a ValueError naming the valid ones for any other name)."""
    return SCENARIOS[name]()


__all__ = ["SCENARIOS", "Event", "Scenario", "scenario_for"]
