"""The cells a `sessionlab compare` run will run, in matrix order, from its parsed options.

Per node count and store (the replicated store once per replication mode): routing x the interleaved scenarios,
then the scenarios planned on their own; each scenario says which cells belong to the default matrix.
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
from loadtest.compare.spec import CellSpec
from nodes.contract.names import REPLICATED_STORE, ROUTING_MODES, STORES


def plan(args: argparse.Namespace) -> list[CellSpec]:
    """The cells to run, in matrix order: per store, routing x the interleaved scenarios, then the others."""
    quick: dict[str, Any] = QUICK if args.quick else {}
    stores = args.store or quick.get("store", STORES)
    chosen = tuple(SCENARIOS) if args.all else args.scenario or quick.get("scenario", default_scenarios())
    scenarios = [scenario_for(name) for name in chosen]
    load = {"users": args.users or quick.get("users", DEFAULT_USERS),
            "duration": args.duration or quick.get("duration", DEFAULT_DURATION), "workers": args.workers,
            "arrival_rate": args.arrival_rate or 0.0, "poisson": args.poisson, "outage": args.outage,
            "redis_persistence": args.redis_persistence, "drain_seconds": args.drain_seconds,
            "deploy_mode": args.deploy_mode}  # fmt: skip
    whole = bool(args.all or args.store or args.routing or args.quick)  # else: each scenario's default cells
    cells = []
    for nodes in args.nodes:
        for store, replication in stores_with_modes(stores, args.replication):
            at = {**load, "nodes": nodes, "replication": replication}
            for routing in _routings(args, quick, None):
                cells += [_spec(routing, store, s, mode, at) for s in scenarios if s.interleaved
                          and (whole or s.in_default_matrix(store, routing))
                          for mode in s.variants(store, args.consistency)]  # fmt: skip
            for scenario in (s for s in scenarios if not s.interleaved):
                cells += [_spec(routing, store, scenario, mode, at) for routing in _routings(args, quick, scenario)
                          if whole or scenario.in_default_matrix(store, routing)
                          for mode in scenario.variants(store, args.consistency)]  # fmt: skip
    cells = [replace(cell, store_latency_ms=ms) for cell in cells for ms in args.store_latency]
    balancers = getattr(args, "balancer", ("sessionlab",))
    cells = [replace(cell, balancer=balancer) for balancer in balancers for cell in cells]  # a block each
    return with_revocation(cells, revocation_bound(args))


def _routings(args: argparse.Namespace, quick: dict[str, Any], scenario: Scenario | None) -> tuple[str, ...]:
    """--routing when given, else the scenario's own routings, else the matrix's."""
    own = scenario.default_routings if scenario else None
    return tuple(args.routing or own or quick.get("routing", ROUTING_MODES))


def _spec(routing: str, store: str, scenario: Scenario, mode: str | None, load: dict[str, Any]) -> CellSpec:
    """One cell; open loop only for scenarios that run the ordinary users (bursts keep their own rhythm)."""
    paced = load if scenario.users is None else {**load, "arrival_rate": 0.0, "poisson": False}
    spec = CellSpec(routing, store, scenario.name, consistency=mode, **paced)
    return replace(spec, duration=scenario.duration(spec))


def revocation_bound(args: argparse.Namespace) -> float:
    if args.revocation_bound is not None:
        return float(args.revocation_bound)
    return QUICK_REVOCATION_BOUND if args.quick else DEFAULT_REVOCATION_BOUND


def with_revocation(cells: list[CellSpec], bound: float) -> list[CellSpec]:
    """Mark the first cell of each store x routing to measure logout-all afterwards (once is enough: it is cheap
    for redis and cookie, and up to `bound` seconds for memory)."""
    if bound <= 0:
        return cells
    seen: set[tuple[str, str, str]] = set()
    marked = []
    for spec in cells:
        first = (spec.balancer, spec.store_label, spec.routing) not in seen
        seen.add((spec.balancer, spec.store_label, spec.routing))
        marked.append(replace(spec, revocation_bound=bound) if first else spec)
    return marked


def stores_with_modes(stores: tuple[str, ...], replications: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """Each store once; the replicated store once per replication mode."""
    return [(store, mode) for store in stores for mode in (replications if store == REPLICATED_STORE else (None,))]


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
    }
