"""One bounded locust run against a cluster that is already up, with the CPU each side used.

Shared by the matrix cells, the capacity steps and the cross-check: start locust, optionally act while it
runs (kill a node at the midpoint, stop one for a second), wait for its end, and measure with psutil how much
CPU the load generator (locust and its workers) and the cluster (nodes, balancer, Redis) each took.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtest.compare.run import locustrun
from loadtest.compare.spec import CellSpec
from loadtest.lab.cluster import LocalCluster
from loadtest.lab.cpushare import CpuMeter

GENERATOR, CLUSTER = "generator", "cluster"


def cluster_pids(cluster: LocalCluster) -> list[int]:
    pids = [int(p.pid) for p in cluster.processes() if p.pid]
    redis_pid = cluster.redis.pid if cluster.redis is not None else None
    return pids + ([int(redis_pid)] if redis_pid else [])


@dataclass
class LoadResult:
    stats: dict[str, Any]
    cpu: dict[str, float]
    during: Any = None  # what the `during` action returned


def run_load(
    cluster: LocalCluster,
    spec: CellSpec,
    folder: Path,
    kinds: tuple[str, ...],
    on_pid: Callable[[str, int], None],
    during: Callable[[float], Any] | None = None,
    run_class: Callable[..., locustrun.LocustRun] = locustrun.LocustRun,
) -> LoadResult:
    """Run locust (or `run_class`'s generator) for the spec's duration; `during(start)` runs once the load began
    (start = wall-clock time)."""
    run = run_class(spec, ",".join(cluster.urls), folder, kinds, on_pid)  # replicas: the users spread over them
    process = run.start()
    groups = {GENERATOR: lambda: [int(process.pid)] if process.pid else [], CLUSTER: lambda: cluster_pids(cluster)}
    meter = CpuMeter(groups).start()
    try:
        start = run.wait_started(process)
        acted = during(start) if during else None
        run.wait_finished(process)
        stats = run.final_stats(process)
    finally:
        cpu = meter.stop()
        locustrun.stop(process)
    return LoadResult(stats, cpu, acted)


def cpu_fields(cpu: dict[str, float]) -> dict[str, Any]:
    """The cell's CPU figures: each side's CPU seconds and share of the machine, and the machine's total use."""
    return {
        "generator_cpu_s": cpu.get(f"{GENERATOR}_cpu_s"),
        "generator_cpu_share": cpu.get(f"{GENERATOR}_cpu_share"),
        "cluster_cpu_s": cpu.get(f"{CLUSTER}_cpu_s"),
        "cluster_cpu_share": cpu.get(f"{CLUSTER}_cpu_share"),
        "machine_busy_share": cpu.get("machine_busy_share"),
        "load_average": cpu.get("load_average"),
        "cores": cpu.get("cores"),
    }
