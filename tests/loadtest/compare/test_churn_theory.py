"""Membership-change theory: closed forms, and a simulation of users behind the balancer's rules that must agree."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from balancer.routing.hash import HashRing
from loadtest.compare.scenarios import scenario_for
from loadtest.compare.spec import CellSpec
from loadtest.compare.theory.churn import (
    JOIN,
    LEAVE,
    UNPIN,
    Change,
    ChurnExposure,
    available_sets,
    expect_churn,
    placement,
    rolling_hashed_misses,
    rolling_pinned_misses,
)
from loadtest.compare.theory.ring import ProbeRing

NODES = ("node-1", "node-2", "node-3")


def rolling(nodes: Sequence[str], *, kill: bool = False) -> tuple[Change, ...]:
    """A rolling deploy: each node in turn leaves, is stopped (its pins go) and joins again, 10 s apart."""
    changes: list[Change] = []
    for index, node in enumerate(nodes):
        t = 10.0 * (index + 1)
        stop = t if kill else t + 2
        changes += [Change(t, node, LEAVE), Change(stop, node, UNPIN), Change(t + 4, node, JOIN)]
    return tuple(changes)


def scale_out(new: str = "node-4") -> tuple[Change, ...]:
    return (Change(10.0, new, JOIN),)


def scale_in(node: str = "node-1") -> tuple[Change, ...]:
    return (Change(10.0, node, LEAVE), Change(12.0, node, UNPIN))


def exposure(changes: tuple[Change, ...], users: dict[str, int], per_epoch: float = 300.0,
             nodes: tuple[str, ...] = NODES) -> ChurnExposure:  # fmt: skip
    requests = {kind: [per_epoch] * (len(changes) + 1) for kind in users}
    return ChurnExposure(nodes, users, requests, changes)


@pytest.mark.parametrize("store", ["cookie", "redis"])
@pytest.mark.parametrize("routing", ["random", "round_robin", "sticky", "hash"])
@pytest.mark.parametrize("changes", [rolling(NODES), rolling(NODES, kill=True), scale_out(), scale_in()])
def test_shared_stores_never_miss_whatever_comes_or_goes(store: str, routing: str, changes: tuple[Change, ...]) -> None:
    result = expect_churn(routing, store, exposure(changes, {"browser": 20, "app": 10}))
    assert result.misses == 0 and result.exact_zero and result.tolerance() == 0
    assert result.agrees(0.0) and not result.agrees(0.0005)
    assert all(epoch.rate == 0 for epoch in result.epochs)


def test_placement_per_routing_and_kind() -> None:
    assert [placement(r, "browser") for r in ("random", "round_robin", "sticky", "hash")] == [
        "spread", "spread", "cookie", "hash"]  # fmt: skip
    assert placement("sticky", "app") == "spread"  # no cookie jar: no SL_ROUTE pin
    with pytest.raises(ValueError, match="unknown"):
        placement("nearest", "app")


def test_available_sets_follow_leave_and_join() -> None:
    sets = available_sets(exposure(rolling(NODES[:2]), {"app": 1}, nodes=NODES[:2]))
    assert sets == [("node-1", "node-2"), ("node-2",), ("node-2",), ("node-2", "node-1"), ("node-1",),
                    ("node-1",), ("node-1", "node-2")]  # fmt: skip
    with pytest.raises(ValueError, match="no node is left"):
        available_sets(exposure((Change(1, "node-1", LEAVE),), {"app": 1}, nodes=("node-1",)))


def test_scale_out_spread_moves_from_n_minus_1_over_n_to_n_over_n_plus_1() -> None:
    result = expect_churn("random", "memory", exposure(scale_out(), {"app": 30}))
    assert [e.rate for e in result.epochs] == [pytest.approx(2 / 3), pytest.approx(3 / 4)]
    assert result.misses == pytest.approx(300 * 2 / 3 + 300 * 3 / 4)  # joining strands nobody
    assert result.epochs[1].node_share == {n: pytest.approx(0.25) for n in (*NODES, "node-4")}


def test_scale_in_spread_strands_the_drained_nodes_sessions() -> None:
    result = expect_churn("round_robin", "memory", exposure(scale_in(), {"app": 30}))
    stranded = 30 / 3 * (1 - 1 / 2)
    assert result.misses == pytest.approx(300 * 2 / 3 + 2 * 300 / 2 + stranded)
    assert result.change_misses == (pytest.approx(stranded), 0.0)


def test_sticky_browsers_keep_their_pins_on_scale_out_so_the_new_node_gets_none() -> None:
    result = expect_churn("sticky", "memory", exposure(scale_out(), {"browser": 30}))
    assert result.misses == 0 and result.exact_zero
    assert result.epochs[1].node_share["node-4"] == 0
    mixed = expect_churn("sticky", "memory", exposure(scale_out(), {"browser": 20, "app": 10}, per_epoch=150))
    # half the requests are app requests, spread over all 4; browser requests stay on the old 3
    assert mixed.epochs[1].node_share["node-4"] == pytest.approx(0.5 * 0.25)
    assert mixed.epochs[1].node_share["node-1"] == pytest.approx(0.5 / 3 + 0.5 * 0.25)


def test_sticky_scale_in_costs_one_miss_per_pinned_user_at_removal_not_at_drain() -> None:
    result = expect_churn("sticky", "memory", exposure(scale_in(), {"browser": 30}))
    assert result.change_misses == (0.0, pytest.approx(10.0))
    assert result.epochs[1].node_share["node-1"] == pytest.approx(1 / 3)  # draining, still serving its pins
    assert result.epochs[2].node_share == {"node-1": 0.0, "node-2": pytest.approx(0.5), "node-3": pytest.approx(0.5)}


@pytest.mark.parametrize("nodes", [2, 3, 4, 6])
def test_sticky_rolling_deploy_closed_form(nodes: int) -> None:
    names = tuple(f"node-{i}" for i in range(1, nodes + 1))
    for kill in (False, True):
        result = expect_churn("sticky", "memory", exposure(rolling(names, kill=kill), {"browser": 60}, nodes=names))
        assert result.misses == pytest.approx(rolling_pinned_misses(nodes, 60))
    assert rolling_pinned_misses(3, 12) == pytest.approx(12 * 19 / 12)  # 1/3 + 1/2 + 3/4 per user


def test_hash_rolling_deploy_a_rejoining_node_gets_back_only_ids_made_meanwhile() -> None:
    users = 300
    ring = ProbeRing()
    result = expect_churn("hash", "memory", exposure(rolling(NODES), {"browser": users}), ring)
    share = ring.shares(NODES)["node-1"]
    leave, unpin, join = result.change_misses[:3]
    assert leave == pytest.approx(users * share * 2) and unpin == 0
    assert join == pytest.approx(users * share, rel=0.15)  # its w_k/N of re-made ids, times N misses each
    # on an ideal ring: node k's turn costs users * N * w_k; the deploy users * N^2/(N+1) * ((1+(N+1)/N^2)^N - 1)
    assert result.misses - users * 2 == pytest.approx(rolling_hashed_misses(3, users), rel=0.05)
    assert rolling_hashed_misses(3, 243) == pytest.approx(3 * (81 + 117 + 169))
    assert result.epochs[3].node_share["node-1"] < 0.06  # back in the ring, but holding few users' ids


def test_hash_scale_out_moves_the_new_nodes_share_and_leaves_it_few_users() -> None:
    ring = ProbeRing()
    result = expect_churn("hash", "memory", exposure(scale_out(), {"app": 40}), ring)
    moved = ring.moved(NODES, (*NODES, "node-4"))
    assert moved == pytest.approx(ring.shares((*NODES, "node-4"))["node-4"]) and 0.18 < moved < 0.32
    assert result.change_misses == (pytest.approx(40 * moved * 4),)
    assert result.epochs[1].node_share["node-4"] == pytest.approx(moved * moved, rel=0.01)
    shared = expect_churn("hash", "redis", exposure(scale_out(), {"app": 40}), ring)
    assert shared.misses == 0 and shared.epochs[1].node_share["node-4"] == pytest.approx(moved)


def test_tolerance_shrinks_with_exposure_and_has_a_floor() -> None:
    small = expect_churn("random", "memory", exposure(scale_out(), {"app": 30}, per_epoch=100))
    large = expect_churn("random", "memory", exposure(scale_out(), {"app": 30}, per_epoch=10_000))
    assert small.tolerance() > large.tolerance() > 0.02


def test_probe_ring_is_the_balancers_ring_over_the_urls() -> None:
    urls = {f"node-{i}": f"http://127.0.0.1:{9000 + i}" for i in range(1, 5)}
    ring = ProbeRing(urls)
    three = ring.shares(NODES)
    assert sum(three.values()) == pytest.approx(1.0) and all(0.25 < s < 0.42 for s in three.values())
    real = HashRing([urls[n] for n in NODES])
    assert [urls[n] for n in ring.owners(NODES)[:50]] == [real.lookup(k) for k in ring.keys[:50]]
    moved = ring.moved(NODES, (*NODES, "node-4"))
    assert moved == pytest.approx(ring.shares((*NODES, "node-4"))["node-4"], abs=1e-9)  # only ids the new node owns
    assert moved == pytest.approx(0.25, abs=0.07)


# -- a simulation of the same rules: users, memory nodes, the balancer's placement ---------------------------


@dataclass
class User:
    kind: str
    sid: str | None = None
    pin: str | None = None


class Cluster:
    """Memory nodes behind the balancer's rules (rotation, SL_ROUTE pins with redispatch, a real HashRing)."""

    def __init__(self, routing: str, nodes: Sequence[str], rng: random.Random) -> None:
        self.routing, self.rng = routing, rng
        self.available, self.serving = list(nodes), set(nodes)
        self.sessions: dict[str, set[str]] = {node: set() for node in nodes}
        self.rr = 0
        self.ids = 0
        self.rings: dict[tuple[str, ...], HashRing] = {}

    def apply(self, change: Change) -> None:
        if change.what == LEAVE:
            self.available.remove(change.node)
        elif change.what == UNPIN:
            self.serving.discard(change.node)
            self.sessions[change.node] = set()  # stopped: a memory node forgets everything
        else:
            self.available.append(change.node)
            self.serving.add(change.node)
            self.sessions.setdefault(change.node, set())

    def node_for(self, user: User, login: bool = False) -> str:
        sent = user.sid if not (login and user.kind == "app") else None  # an app logs in with an empty token
        if placement(self.routing, user.kind) == "hash" and sent is not None:
            key = tuple(sorted(self.available))
            if key not in self.rings:
                self.rings[key] = HashRing(key)
            return self.rings[key].lookup(sent)
        if placement(self.routing, user.kind) == "cookie":
            if user.pin not in self.serving:
                self.rr += 1
                user.pin = self.available[self.rr % len(self.available)]
            return user.pin
        return self.rng.choice(self.available)

    def login(self, user: User) -> None:
        node = self.node_for(user, login=True)
        self.ids += 1
        user.sid = f"{self.rng.getrandbits(64):x}-{self.ids}"
        self.sessions[node].add(user.sid)

    def request(self, user: User) -> bool:
        """One session request; True when it missed (then the user logs in again)."""
        node = self.node_for(user)
        if user.sid in self.sessions[node]:
            return False
        self.login(user)
        return True


def simulate(routing: str, changes: tuple[Change, ...], users: dict[str, int], steps: int, seed: int,
             nodes: tuple[str, ...] = NODES) -> tuple[int, ChurnExposure]:  # fmt: skip
    """`steps` rounds per epoch, each user one request per round; returns misses and the exposure."""
    rng = random.Random(seed)
    cluster = Cluster(routing, nodes, rng)
    population = [User(kind) for kind, count in users.items() for _ in range(count)]
    for user in population:
        cluster.login(user)
    misses, requests = 0, {kind: [0.0] * (len(changes) + 1) for kind in users}
    for epoch in range(len(changes) + 1):
        if epoch:
            cluster.apply(changes[epoch - 1])
        for _ in range(steps):
            rng.shuffle(population)
            for user in population:
                misses += cluster.request(user)
                requests[user.kind][epoch] += 1
    return misses, ChurnExposure(nodes, users, requests, changes)


CASES = [
    ("random", rolling(NODES)), ("random", scale_out()), ("random", scale_in()),
    ("sticky", rolling(NODES)), ("sticky", rolling(NODES, kill=True)), ("sticky", scale_out()), ("sticky", scale_in()),
    ("hash", rolling(NODES)), ("hash", scale_out()), ("hash", scale_in()),
]  # fmt: skip


@pytest.mark.parametrize(("routing", "changes"), CASES)
def test_simulation_agrees_with_theory(routing: str, changes: tuple[Change, ...]) -> None:
    users = {"browser": 1600, "app": 800}  # enough that a 5% error in a formula stands out from the noise
    misses, measured = simulate(routing, changes, users, steps=12, seed=12)
    theory = expect_churn(routing, "memory", measured, ProbeRing())  # the simulated ring is over the names too
    sigma = math.sqrt(theory.variance)
    # 2%: what the model leaves out (a browser's re-login lands where its stale id hashes, not at random)
    assert abs(misses - theory.misses) <= 4 * sigma + 0.02 * theory.misses, (misses, theory.misses, sigma)


@pytest.mark.parametrize("scenario", ["rolling-deploy", "scale-out", "scale-in"])
def test_memory_route_through_a_membership_change_is_shown_not_judged_by_the_steady_model(scenario: str) -> None:
    """The churn theory has no route: the steady model's 0 misses would call a drain's moved users a defect (a
    check run measured 2.0% against it)."""
    hooks = scenario_for(scenario)
    reason = hooks.unmodelled(CellSpec("route", "memory", scenario, 3, 40, 14.0))
    assert reason is not None and "route" in reason and "not model" in reason
    assert hooks.unmodelled(CellSpec("route", "redis", scenario, 3, 40, 14.0)) is None  # 0 misses holds there
    assert hooks.unmodelled(CellSpec("sticky", "memory", scenario, 3, 40, 14.0)) is None
    assert scenario_for("node-failure").unmodelled(CellSpec("route", "memory", "node-failure", 3, 40, 14.0)) is None
