"""What `sessionlab bench` reports: the machine, medians and ratios per row, the targets, as JSON and as
Markdown tables (bench.md, the console, and on request a results page under docs/results/)."""

from __future__ import annotations

import statistics
from typing import Any

from loadtest.bench.configs import render
from loadtest.render import page
from loadtest.render.format import MISSING, count, ratio
from loadtest.render.page import tool_output
from loadtest.render.table import Table
from nodes.contract.names import HASH, ROUTE, ROUTING_MODES, STICKY

Row = dict[str, Any]
# Issue 25's goals. The redis store, compare-and-set included, against the cookie store, in both workloads and
# both placements of redis-server (beside the node: `redis`; on a CPU of its own: `redis_own`).
STORE_TARGETS = {"read": 1.0, "write": 0.85, "read-hot": 1.0, "write-hot": 0.85}
REDIS_PLACEMENTS = {"redis": "Redis on the node's CPU", "redis_own": "Redis on its own CPU"}
PROXY_RPS_GOAL = 0.85  # the balancer's req/s against nginx's, in every mode
PROXY_CPU_GOAL = 1.5  # the balancer's CPU µs per request against nginx's, at most, in every mode
# The balancer's rows: every mode. In route's, each client's session reference carries a node's id as its route
# tag (`<reference>.node-0`), as nodes with SESSION_ROUTE_TAG issue them, so every request is routed by its tag.
BALANCER_MODES = ROUTING_MODES
COSTLIER_MODES = (STICKY, HASH, ROUTE)  # they read a cookie per request; the target: within 5% of random
NOISY = 1.3  # a row whose fastest run beats its slowest by more than this is flagged: the machine was busy
# The ratio columns of each table, after req/s, p50 and p99.
# The ratio columns of each table after req/s, p50 and p99: (row key, header).
TABLE_COLUMNS = {
    "proxy": (("vs_nginx", "÷ nginx"), ("p99_vs_nginx", "p99 ÷ nginx"), ("vs_direct", "÷ direct"),
              ("cpu_us_per_req", "CPU µs/req"), ("cpu_vs_nginx", "CPU ÷ nginx")),
    "store": (("vs_cookie", "÷ cookie"), ("vs_none", "÷ no session"), ("cpu_us_per_req", "CPU µs/req"),
              ("cpu_vs_cookie", "cookie CPU ÷ this")),
}  # fmt: skip


def tool_version(argv: list[str]) -> str:
    """First line a tool prints about its version (nginx prints to stderr)."""
    lines = tool_output(argv).splitlines()
    return lines[0].strip() if lines else "unknown"


def summarize(name: str, group: str, label: str, runs: list[dict[str, float]]) -> Row:
    """A row's medians over its runs (the runs are kept too)."""
    row: Row = {"name": name, "group": group, "label": label, "runs": runs}
    for key in ("rps", "p50_ms", "p99_ms", "cpu_us_per_req"):
        values = [run[key] for run in runs if run.get(key) is not None]
        row[key] = statistics.median(values) if values else None
    rates = [run["rps"] for run in runs if run["rps"] > 0]
    row["spread"] = max(rates) / min(rates) if rates else None
    row["non2xx"] = sum(int(run.get("non2xx", 0)) for run in runs)
    row["socket_errors"] = sum(int(run.get("socket_errors", 0)) for run in runs)
    return row


def add_ratios(rows: list[Row]) -> None:
    """Proxies against nginx (round robin) and the node direct; stores against the cookie store and no session."""
    by_name = {row["name"]: row for row in rows if row.get("rps")}
    nginx, direct, none = by_name.get("nginx-round_robin"), by_name.get("direct"), by_name.get("store-none")
    for row in rows:
        if not row.get("rps"):
            continue
        if row["group"] == "proxy":
            row["vs_nginx"] = _ratio(row["rps"], nginx, "rps")
            row["p99_vs_nginx"] = _ratio(row["p99_ms"], nginx, "p99_ms")
            row["vs_direct"] = _ratio(row["rps"], direct, "rps")
            if row.get("cpu_us_per_req") is not None:
                row["cpu_vs_nginx"] = _ratio(row["cpu_us_per_req"], nginx, "cpu_us_per_req")
        elif row["name"].startswith("store-"):
            kind = store_workload(row["name"])
            row["vs_cookie"] = _ratio(row["rps"], by_name.get(f"store-cookie-{kind}"), "rps")
            cookie_cpu = _ratio(row["cpu_us_per_req"] or 0, by_name.get(f"store-cookie-{kind}"), "cpu_us_per_req")
            row["cpu_vs_cookie"] = 1 / cookie_cpu if cookie_cpu else None  # > 1: fewer CPU-us per request
            row["vs_none"] = _ratio(row["rps"], none, "rps")


def store_workload(name: str) -> str:
    """`read`, `write-hot`, ...: what a store row measured (its name is `store-<store>-<workload>`)."""
    return name.split("-", 2)[-1]


def _ratio(value: float, reference: Row | None, key: str) -> float | None:
    return None if reference is None or not reference.get(key) else value / reference[key]


def targets(rows: list[Row], memory: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The targets, each with the measured value and whether it is met (None: not measured)."""
    by_name = {row["name"]: row for row in rows if row.get("rps")}
    found: list[dict[str, Any]] = []

    def check(text: str, value: float | None, ok: bool | None, shown: str) -> None:
        found.append({"target": text, "value": value, "ok": ok, "shown": shown})

    for mode in BALANCER_MODES:
        row = by_name.get(f"balancer-{mode}")
        if row is None or row.get("vs_nginx") is None:
            continue
        rps = row["vs_nginx"]
        check(f"balancer {mode} ≥ {PROXY_RPS_GOAL} × nginx req/s", rps, rps >= PROXY_RPS_GOAL, f"{rps:.2f}")
        cpu = row.get("cpu_vs_nginx")
        if cpu is not None:
            nginx_cpu = by_name["nginx-round_robin"]["cpu_us_per_req"]
            shown = f"{cpu:.2f} ({row['cpu_us_per_req']:.1f} µs vs {nginx_cpu:.1f})"
            check(f"balancer {mode} CPU µs/req ≤ {PROXY_CPU_GOAL} × nginx's", cpu, cpu <= PROXY_CPU_GOAL, shown)
        p99 = row["p99_vs_nginx"]
        check(f"balancer {mode} p99 ≤ 2 × nginx p99", p99, p99 <= 2, f"{p99:.2f}")
    random_row = by_name.get("balancer-random")
    for mode in COSTLIER_MODES:
        row = by_name.get(f"balancer-{mode}")
        if row and random_row:
            ratio, what = _mode_cost_ratio(row, random_row)
            check(f"balancer {mode} within 5% of random ({what})", ratio, ratio >= 0.95, f"{ratio:.2f}")
    for store, placement in REDIS_PLACEMENTS.items():
        for kind, floor in STORE_TARGETS.items():
            redis, cookie = by_name.get(f"store-{store}-{kind}"), by_name.get(f"store-cookie-{kind}")
            if redis and cookie:
                ratio = redis["rps"] / cookie["rps"]
                cpu = redis.get("cpu_vs_cookie")
                shown = f"{ratio:.2f}" + (f" (cookie CPU ÷ this {cpu:.2f})" if cpu else "")
                what = kind.removesuffix("-hot") + ("s, one hot session" if kind.endswith("-hot") else "s")
                text = f"redis store ≥ {floor} × cookie store req/s ({what}; {placement})"
                check(text, ratio, ratio >= floor, shown)
                if cpu:  # the goal holds for CPU per request too (robust when the machine is shared)
                    text = f"redis store cookie CPU µs/req ÷ this ≥ {floor} ({what}; {placement})"
                    shown = f"{cpu:.2f} ({redis['cpu_us_per_req']:.1f} µs vs {cookie['cpu_us_per_req']:.1f})"
                    check(text, cpu, cpu >= floor, shown)
    if memory:
        per = memory["mb_per_100k"]
        check("memory store: 100,000 sessions ≤ 100 MB", per, per <= 100, f"{per:.1f} MB")
    return found


def _mode_cost_ratio(row: Row, random_row: Row) -> tuple[float, str]:
    """What a routing mode costs against random: the balancer's CPU per request where measured, else req/s.

    The two nodes behind the proxies are the bottleneck here, and hash pins each of the 50 clients to the node its
    session id hashes to (one run: 29 and 21 clients), so its req/s follows the busier node (0.82 × random)
    while its own CPU per request differs by a few microseconds (2.0 µs random vs 4.7 µs hash per decision).
    """
    if row.get("cpu_us_per_req") and random_row.get("cpu_us_per_req"):
        return random_row["cpu_us_per_req"] / row["cpu_us_per_req"], "random's CPU µs/req ÷ this"
    return row["rps"] / random_row["rps"], "req/s"


def markdown(report: dict[str, Any]) -> str:
    """The tables and targets, as bench.md and the console show them (template: templates/bench.md)."""
    tables = {
        group: Table(
            ["row", "req/s", "p50 ms", "p99 ms", *(header for _, header in columns)],
            [_cells(row, *(row.get(key) for key, _ in columns)) for row in report["rows"] if row["group"] == group],
        )
        for group, columns in TABLE_COLUMNS.items()
    }
    return render(
        "bench.md",
        **{key: report[key] for key in ("date", "machine", "settings")},
        memory=report.get("memory"),
        skipped=report.get("skipped") or [],
        targets=report.get("targets") or [],
        proxy_table=tables["proxy"],
        store_table=tables["store"],
        noisy=NOISY,
    )


def results_page(report: dict[str, Any]) -> str:
    """docs/results/<name>.md: date, machine and command line above the same tables."""
    return page.results_page(
        "Bench results", "sessionlab bench", report["date"], report["command"], report["settings"]["elapsed_s"],
        "Figures from one run on a shared machine: read the ratios between rows, not the absolute numbers. What "
        "each row measures: [the bench](../bench.md).", markdown(report),
    )  # fmt: skip


def _cells(row: Row, *ratios: float | None) -> list[str]:
    """One table row: the label with its warnings, req/s, p50, p99, then the ratios."""
    if not row.get("rps"):
        return [row["label"], MISSING, MISSING, MISSING] + [MISSING] * len(ratios)
    flag = ""
    if row.get("spread") and row["spread"] > NOISY:
        rates = [run["rps"] for run in row["runs"]]
        flag += f" (noisy: runs {min(rates):,.0f}–{max(rates):,.0f})"
    if row["non2xx"] or row["socket_errors"]:
        flag += f" ⚠ {row['non2xx']} non-2xx, {row['socket_errors']} socket errors"
    figures = [count(row["rps"]), f"{row['p50_ms']:.2f}", f"{row['p99_ms']:.2f}"]
    return [row["label"] + flag, *figures, *(ratio(r) for r in ratios)]
