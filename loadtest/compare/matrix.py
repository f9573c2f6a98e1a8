"""The cells a `sessionlab compare` run will run, in matrix order, from its parsed options.

The order, stated once: per node count, per store posture (stores in the contract's order, Redis as a team runs
it before the naive one, the replicated store once per replication mode), per scenario in the registry's order,
per routing in the contract's order; the whole list once per balancer (--balancer), in its order. The default matrix
(no --store, --routing, --all or --quick) runs the cells each scenario's `in_default(posture, routing)` picks, and
behind the balancers after the first only the scenarios the balancer can change (`through_the_balancer`: not the
store's faults nor parallel writes); the others run every store and routing asked for, each scenario with its own
routings (`Scenario.routings`) unless --routing is given.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime
from typing import Any

from loadtest.compare.options import (
    DEFAULT_DURATION,
    DEFAULT_REVOCATION_BOUND,
    DEFAULT_USERS,
    QUICK,
    QUICK_REVOCATION_BOUND,
    default_scenarios,
)
from loadtest.compare.scenarios import SCENARIOS, Scenario, scenario_for
from loadtest.compare.session_knobs import knobs_of, sweep
from loadtest.compare.spec import CellSpec
from loadtest.lab.balancers import BALANCERS, mechanism
from loadtest.lab.replication import DEFAULT_REPLICATION, REPLICATIONS
from nodes.contract.names import NODE_STORES, REDIS, REPLICATED_STORE, ROUTING_MODES, STORES

DEFAULT_PERSISTENCES = ("aof", "none")  # the default matrix: Redis as a team runs it, then the naive one


def plan(args: argparse.Namespace) -> list[CellSpec]:
    """The cells to run, in matrix order (the module's docstring)."""
    quick: dict[str, Any] = QUICK if args.quick else {}
    default = not (args.all or args.store or args.routing or args.quick)
    chosen = tuple(SCENARIOS) if args.all else args.scenario or quick.get("scenario", default_scenarios())
    scenarios = [scenario_for(name) for name in chosen]
    load = {"users": args.users or quick.get("users", DEFAULT_USERS),
            "duration": args.duration or quick.get("duration", DEFAULT_DURATION), "workers": args.workers,
            "arrival_rate": args.arrival_rate or 0.0, "poisson": args.poisson, "outage": args.outage,
            "drain_seconds": args.drain_seconds, "deploy_mode": args.deploy_mode, "long_lived": args.long_lived,
            "rebalance": args.rebalance, "long_lived_kind": args.long_lived_kind,
            "balancer_replicas": getattr(args, "balancer_replicas", 1)}  # fmt: skip
    cells = []
    for nodes in args.nodes:
        for posture in postures(args, default):
            base = CellSpec(ROUTING_MODES[0], scenario="", nodes=nodes, **posture, **load)
            cells += [_spec(replace(base, routing=routing), scenario, mode)
                      for scenario in scenarios for routing in _routings(args, quick, scenario)
                      if not default or scenario.in_default(base.posture(), routing)
                      for mode in scenario.variants(base.store, args.consistency)]  # fmt: skip
    cells = [replace(cell, store_latency_ms=ms) for cell in cells for ms in args.store_latency]
    cells = [replace(cell, session=knobs) for cell in cells for knobs in sweep(knobs_of(args), args)]
    sweeps = {"redis_eviction": args.redis_eviction, "schema_compat": args.schema_compat}
    cells = [_sized(each) for cell in cells for each in scenario_for(cell.scenario).session_variants(cell, sweeps)]
    balancers = getattr(args, "balancer", ("sessionlab",))
    first = balancers[0] if balancers else None
    cells = [replace(cell, balancer=balancer) for balancer in balancers for cell in cells  # a block each
             if not default or balancer == first or scenario_for(cell.scenario).through_the_balancer]  # fmt: skip
    return with_revocation(cells, revocation_bound(args))


def postures(args: argparse.Namespace, default: bool) -> list[dict[str, Any]]:
    """Each store once per posture: the replicated store per replication mode, Redis per persistence (the
    default matrix tries every mode and persistence not fixed by an option, and `in_default` picks)."""
    stores = args.store or (NODE_STORES if default else STORES)
    persistences = (args.redis_persistence,) if args.redis_persistence else (
        DEFAULT_PERSISTENCES if default else ("none",))  # fmt: skip
    replications = REPLICATIONS if default and args.replication == (DEFAULT_REPLICATION,) else args.replication
    found: list[dict[str, Any]] = []
    for store in stores:
        if store == REPLICATED_STORE:
            found += [{"store": store, "replication": mode} for mode in replications]
        else:
            found += [{"store": store, "redis_persistence": p} for p in (persistences if store == REDIS else ("none",))]
    return found


def _routings(args: argparse.Namespace, quick: dict[str, Any], scenario: Scenario) -> tuple[str, ...]:
    """--routing when given, else the scenario's own routings, else --quick's, else every routing."""
    return tuple(args.routing or scenario.routings or quick.get("routing", ROUTING_MODES))


def _spec(spec: CellSpec, scenario: Scenario, mode: str | None) -> CellSpec:
    """One cell; open loop only for scenarios that run the ordinary users (bursts keep their own rhythm)."""
    paced = spec if scenario.users is None else replace(spec, arrival_rate=0.0, poisson=False)
    cell = replace(paced, scenario=scenario.name, consistency=mode)
    return replace(cell, duration=scenario.duration(cell))


def _sized(spec: CellSpec) -> CellSpec:
    """The cell with its scenario's duration for its session knobs (store-full fills at a pace its size sets)."""
    return replace(spec, duration=scenario_for(spec.scenario).duration(spec))


def revocation_bound(args: argparse.Namespace) -> float:
    if args.revocation_bound is not None:
        return float(args.revocation_bound)
    return QUICK_REVOCATION_BOUND if args.quick else DEFAULT_REVOCATION_BOUND


def with_revocation(cells: list[CellSpec], bound: float) -> list[CellSpec]:
    """Mark the first cell of each store x routing to measure logout-all afterwards (once is enough: it is cheap
    for redis and cookie, and up to `bound` seconds for memory; whether logout-all reaches a session is the store's
    and the routing's doing, so once over every balancer too)."""
    if bound <= 0:
        return cells
    seen: set[tuple[str, str]] = set()
    marked = []
    for spec in cells:
        runs = mechanism(spec.balancer, spec.routing).offered and BALANCERS[spec.balancer].missing() is None
        first = runs and (spec.store_label, spec.routing) not in seen
        seen.update([(spec.store_label, spec.routing)] if runs else [])
        marked.append(replace(spec, revocation_bound=bound) if first else spec)
    return marked


def describe(args: argparse.Namespace, cells: list[CellSpec]) -> dict[str, Any]:
    """The run's `meta` record in results.json: what was asked, the load of the first cell."""
    first = cells[0] if cells else CellSpec("random", "memory", "steady", args.nodes[0], 0, 0.0)
    return {
        "tool": "sessionlab compare",
        "started": datetime.now().isoformat(timespec="seconds"),
        "nodes": args.nodes[0] if len(args.nodes) == 1 else list(args.nodes),
        "users": first.users,
        "duration": first.duration,
        "workers": args.workers,
        "user_kinds": list(args.user_kinds),
        "consistency": list(args.consistency),
        "revocation_bound_s": revocation_bound(args),
        "quick": bool(args.quick),
        "load_model": "open" if args.arrival_rate else "closed",
        "arrival_rate": args.arrival_rate,
        "cells": len(cells),
        "balancers": list(getattr(args, "balancer", ("sessionlab",))),
        "balancer_replicas": getattr(args, "balancer_replicas", 1),
    }
