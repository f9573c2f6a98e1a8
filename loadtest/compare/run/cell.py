"""One cell, run: the scenario's cluster, a bounded locust run with the scenario's events on their timeline, stop all.

The record it returns is built by loadtest/compare/record/; a process that died on its own makes the cell
`CellFailed` (recorded, and the matrix goes on).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtest.compare.record import agreement as affinity
from loadtest.compare.record import balancer_fields as B
from loadtest.compare.record import session_measures
from loadtest.compare.record.cells import build_cell
from loadtest.compare.record.longlived import long_lived_verdicts
from loadtest.compare.record.model import CellRecord, FailedCell
from loadtest.compare.record.store_latency import ROUND_TRIPS, p50_by_request
from loadtest.compare.run import agreement, handshake, revocation, session_run
from loadtest.compare.run.loadrun import cpu_fields, run_load
from loadtest.compare.run.progress import PidLog, Progress
from loadtest.compare.run.timeline import run_timeline
from loadtest.compare.scenarios import scenario_for
from loadtest.compare.scenarios.store_actions import measured
from loadtest.compare.spec import CellSpec
from loadtest.compare.theory.placement import out_of_reach
from loadtest.lab.balancers import BALANCERS, Balancer, mechanism
from loadtest.lab.balancers.long_lived import long_lived_offer
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from loadtest.lab.control import ClusterControl
from loadtest.lab.replication import DEFAULT_REPLICATION
from loadtest.users import tally as T
from nodes.contract.names import DEFAULT_MAX_AGE


class CellFailed(RuntimeError):
    """A cell ran but cannot be trusted (a process died on its own): recorded, and the matrix goes on."""


def tunnel_env(spec: CellSpec) -> tuple[tuple[str, str], ...]:
    """With long-lived users, a drained node's WebSockets get 1001 from the balancer when its drain time is up, and
    with --rebalance a share of them when a node joins."""
    if spec.long_lived <= 0:
        return ()
    return ("BALANCER_DRAIN_TIMEOUT", f"{spec.drain_seconds:g}"), ("BALANCER_TUNNEL_REBALANCE", f"{spec.rebalance:g}")


def run_cell(spec: CellSpec, folder: Path, kinds: tuple[str, ...], pids: PidLog, progress: Progress) -> CellRecord:
    """The scenario's cluster, a bounded locust run with the scenario's events on their timeline, stop all."""
    scenario = scenario_for(spec.scenario)
    config = scenario.cluster(ClusterConfig(nodes=spec.nodes, routing=spec.routing, store=spec.store,
                                            log_dir=folder / "logs", consistency=spec.consistency,
                                            store_latency_ms=spec.store_latency_ms,
                                            redis_persistence=spec.redis_persistence,
                                            replication=spec.replication or DEFAULT_REPLICATION,
                                            extra_env=tunnel_env(spec) + spec.session.node_env(),
                                            with_redis=spec.session.cookie_denylist, balancer=spec.balancer,
                                            balancer_replicas=spec.balancer_replicas))  # fmt: skip
    with LocalCluster(config, on_pid=pids) as cluster:
        redis_setup = session_run.configure_redis(cluster, spec)
        pace = f" at {spec.arrival_rate:g} requests/s (open loop)" if spec.arrival_rate else ""
        progress.say(f"{spec.label}: cluster up ({spec.nodes} nodes) in {cluster.started_in:.1f}s; locust "
                     f"{spec.users} users{pace} for {spec.duration:g}s"
                     + (f" on {spec.workers} workers" if spec.workers else ""))  # fmt: skip
        control = ClusterControl(cluster)

        def timeline(start: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
            records = run_timeline(scenario.events(spec), control, start, progress.say)
            rtt = cluster.store.added_rtt() if cluster.store is not None else {}  # while the load still runs
            return records, rtt

        load = run_load(cluster, spec, folder, kinds, pids, during=timeline)
        stats, (records, rtt) = load.stats, load.during
        replication = cluster.replication_traffic()  # before logout-all: its writes are not the load's
        save_config(cluster.frontend, folder.parent.parent)
        observed = {**redis_setup, **session_run.after_load(cluster, spec)}
        own = scenario.after_load(spec, control)
        revoked = _measure_revocation(spec, cluster.url, progress) if spec.revocation_bound > 0 else {}
        upgrades = _measure_handshake(cluster.url, progress) if spec.long_lived > 0 else {}
        agreed = _measure_agreement(cluster.urls, progress) if spec.balancer_replicas > 1 else {}
        dead = [name for name in cluster.dead_members() if name not in control.taken_down]
        if dead:
            raise CellFailed(f"{', '.join(dead)} died during the run; see {folder / 'logs'}")
        replayed = cluster.posts_replayed()
    store = {**rtt, **measured(records), "redis_persistence": spec.redis_persistence} if spec.store == "redis" else {}
    totals = T.sum_counts(stats.get("per_second", {}).values())
    store |= {"store_latency_ms": spec.store_latency_ms,
              "p50_ms_by_request": p50_by_request(stats.get("entries", []), totals),
              "p99_ms_by_request": p99_by_request(totals)}  # fmt: skip
    record = build_cell(spec, stats, scenario.disruption(records), records, replication, B.theory_routing(spec))
    record = (
        record.with_measures("store", store)
        .with_measures("balancer", {"posts_replayed": replayed})
        .with_measures("cpu", cpu_fields(load.cpu))
        .with_measures("logout-all", revoked)
        .with_measures("handshake", upgrades)
    )
    record = session_measures.add(record, spec, stats, observed, own)
    if agreed:
        record = record.with_measures("affinity", affinity.fields(spec, agreed)).judged(affinity.verdict(spec, agreed))
    if spec.long_lived > 0:
        figures = {key: record.figure(key) for key in ("ws_misses", "handshake_sid_unknown", "new_node_open_max",
                                                        "connections_opened_after_join")}  # fmt: skip
        for verdict in long_lived_verdicts(spec, figures, store_hit=scenario.about_the_store):
            record = record.judged(verdict)
    return record.unjudged(B.not_modelled(spec, disturbed=bool(records)) or out_of_reach(spec)
                           or scenario.unmodelled(spec))  # fmt: skip


def p99_by_request(totals: dict[str, int]) -> dict[str, float]:
    """The p99 of each request the lab's tally times (what a synchronous copy adds to a write shows in its tail)."""
    found = {}
    for name in ROUND_TRIPS:
        histogram = T.labels(totals, T.request_latency(*name.split(" ", 1)))
        if histogram and (p99 := T.percentile(histogram, 0.99)) is not None:
            found[name] = p99
    return found


def save_config(frontend: Balancer, out: Path) -> None:
    """The balancer's generated config beside the report (configs/<balancer>/<mode>/), for users to copy."""
    target = out / "configs" / frontend.name / frontend.front.mode
    target.mkdir(parents=True, exist_ok=True)
    for name, text in frontend.config_files().items():
        (target / name).write_text(text)


def precheck(spec: CellSpec) -> FailedCell | None:
    """The record of a cell that cannot run on its balancer (the mode is not offered, the binary is missing)."""
    offer = mechanism(spec.balancer, spec.routing)
    if not offer.offered:
        return B.not_offered_cell(spec, offer.not_offered)
    if spec.long_lived > 0 and not (live := long_lived_offer(spec.balancer, rebalance=spec.rebalance > 0)).offered:
        return B.not_offered_cell(spec, f"--rebalance: {live.not_offered}")
    missing = BALANCERS[spec.balancer].missing()
    return None if missing is None else B.skipped_cell(spec, missing)


def _measure_revocation(spec: CellSpec, url: str, progress: Progress) -> dict[str, Any]:
    """After the load: how long the other client's session stays usable once the user logged out everywhere."""
    measured = revocation.measure(
        url, spec.store, bound=spec.revocation_bound, max_age=DEFAULT_MAX_AGE
    )  # the lab leaves SESSION_MAX_AGE at its default
    progress.say(f"  logout-all: {measured['revocation']['explanation']}")
    return measured


def _measure_handshake(url: str, progress: Progress) -> dict[str, Any]:
    """After the load: socket.io's polling-then-upgrade handshake, which only affinity brings to its node."""
    measured = handshake.measure(url)
    progress.say(f"  poll-then-upgrade: {measured['handshake_upgraded']} of {measured['handshake_attempts']} "
                 f"upgraded, {measured['handshake_sid_unknown']} 'Session ID unknown'")  # fmt: skip
    return measured


def _measure_agreement(urls: list[str], progress: Progress) -> dict[str, Any]:
    """After the load: where each replica of the balancer sends the same sessions."""
    measured = agreement.measure(urls)
    progress.say(f"  affinity agreement over {len(urls)} replicas: browsers {_share(measured['affinity_agreement'])}, "
                 f"app clients {_share(measured['affinity_agreement_app'])} of {measured['affinity_sessions']} "
                 "sessions sent to the same node")  # fmt: skip
    return measured


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def cell_folder_name(spec: CellSpec, sweep: bool = False) -> str:
    """The cell's folder: <store>-<routing>-<scenario>[-<consistency>], plus -n<nodes> in a --nodes sweep."""
    mode = f"-{spec.consistency}" if spec.consistency else ""
    variant = spec.store_variant.replace(" / +", "-").replace(" ms", "ms").replace(" / ", "-")
    store = spec.store_label.replace(" ", "-")
    front = "" if spec.balancer == "sessionlab" else f"{spec.balancer}-"
    knobs = spec.session.label.replace(" / ", "-").replace(" ", "")
    front += f"x{spec.balancer_replicas}-" if spec.balancer_replicas > 1 else ""
    return f"{front}{store}-{spec.routing}-{spec.scenario}{mode}{variant}{knobs}" + (f"-n{spec.nodes}" if sweep else "")
