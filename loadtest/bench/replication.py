"""Benchmark of the replicated store: write latency and replication traffic per write, against `memory`.

    python -m loadtest.bench.replication [--users 20] [--writes 600] [--concurrency 4] [--peers 2]

For each configuration it starts real node processes on free loopback ports (the node under test and, for
the replicated ones, `--peers` peers), logs users in on the node under test, fills each cart with 5 items,
then sends `POST /counter` writes to that node (as sticky routing would). It prints write p50/p99 and the
replication messages and body bytes per write, summed over every node's GET /_replication/stats; then the
size and round-trip time of a whole-session message against a delta-sized one (only the changed key).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from loadtest.lab.launcher import child_env, launch_node
from loadtest.lab.probe import http_status
from loadtest.lab.processes import ManagedProcess, free_ports
from nodes.contract.names import LAST_WRITE_WINS, NO_TOKEN_YET, REPLICATION_PREFIX, TOKEN_HEADER
from nodes.contract.peer_signature import sign

SECRET = "bench-peer-secret-0123456789abcdef"
CONFIGS: dict[str, dict[str, str]] = {
    "memory": {"SESSION_STORE": "memory"},
    "all-sync": {"SESSION_REPLICATION": "all", "SESSION_REPLICATION_MODE": "sync"},
    "all-async": {"SESSION_REPLICATION": "all", "SESSION_REPLICATION_MODE": "async"},
    "backup-sync": {"SESSION_REPLICATION": "backup", "SESSION_REPLICATION_MODE": "sync"},
    "all-sync-lww": {"SESSION_REPLICATION": "all", "SESSION_CONSISTENCY": LAST_WRITE_WINS},
    "all-async-lww": {"SESSION_REPLICATION_MODE": "async", "SESSION_CONSISTENCY": LAST_WRITE_WINS},
}


def start_nodes(config: dict[str, str], count: int, log_dir: Path) -> list[tuple[str, ManagedProcess]]:
    ports = free_ports(count)
    peers = ",".join(f"http://127.0.0.1:{port}" for port in ports)
    nodes = []
    for index, port in enumerate(ports, start=1):
        # `config` last: it may override the store (the `memory` baseline)
        env = child_env(
            {"SESSION_STORE": "replicated", "SESSION_PEERS": peers, "SESSION_PEER_SECRET": SECRET, **config}
        )
        process = launch_node(f"node-{index}", "127.0.0.1", port, log_dir, env)
        url = f"http://127.0.0.1:{port}"
        nodes.append((url, process))
        process.wait_ready(lambda url=url: http_status(url + "/readyz") == 200, 20.0)  # type: ignore[misc]
    return nodes


async def peer_get(http: aiohttp.ClientSession, url: str, name: str) -> dict[str, Any]:
    path = REPLICATION_PREFIX + name
    async with http.get(url + path, headers=sign(SECRET.encode(), "GET", path, b"")) as response:
        return dict(await response.json())


async def wait_connected(http: aiohttp.ClientSession, urls: list[str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answers = [await peer_get(http, url, "stats") for url in urls]
        if all(answer["peers_live"] == len(urls) - 1 for answer in answers):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the nodes never saw each other")


async def prepare_users(http: aiohttp.ClientSession, url: str, users: int) -> list[str]:
    tokens = []
    for index in range(users):
        async with http.post(
            f"{url}/login", json={"user": f"u{index}"}, headers={TOKEN_HEADER: NO_TOKEN_YET}
        ) as response:
            tokens.append(response.headers[TOKEN_HEADER])
        for item in range(5):
            body = {"sku": f"sku-{item}", "qty": 1}
            await (await http.post(f"{url}/cart/items", json=body, headers={TOKEN_HEADER: tokens[-1]})).read()
    return tokens


async def timed_writes(
    http: aiohttp.ClientSession, url: str, tokens: list[str], writes: int, width: int
) -> list[float]:
    latencies: list[float] = []
    queue = list(range(writes))

    async def worker() -> None:
        while queue:
            index = queue.pop()
            began = time.perf_counter()
            async with http.post(f"{url}/counter", headers={TOKEN_HEADER: tokens[index % len(tokens)]}) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append((time.perf_counter() - began) * 1000)

    await asyncio.gather(*(worker() for _ in range(width)))
    return latencies


async def traffic(http: aiohttp.ClientSession, urls: list[str]) -> tuple[int, int, int]:
    """(writes on the node under test, messages and body bytes sent by every node)."""
    answers = [await peer_get(http, url, "stats") for url in urls]
    return answers[0]["writes"], sum(a["messages_sent"] for a in answers), sum(a["bytes_sent"] for a in answers)


async def bench(name: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    config = CONFIGS[name]
    nodes = start_nodes(config, 1 if name == "memory" else 1 + args.peers, log_dir / name)
    urls = [url for url, _ in nodes]
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            if name != "memory":
                await wait_connected(http, urls)
            tokens = await prepare_users(http, urls[0], args.users)
            before = await traffic(http, urls) if name != "memory" else (0, 0, 0)
            latencies = await timed_writes(http, urls[0], tokens, args.writes, args.concurrency)
            await asyncio.sleep(0.3)  # async: let the queues drain before counting
            after = await traffic(http, urls) if name != "memory" else (0, 0, 0)
    finally:
        for _, process in nodes:
            process.stop()
    writes = max(after[0] - before[0], 1)
    cuts = statistics.quantiles(latencies, n=100)
    messages, size = (after[1] - before[1]) / writes, (after[2] - before[2]) / writes
    return {"config": name, "p50_ms": statistics.median(latencies), "p99_ms": cuts[98],
            "messages_per_write": messages, "bytes_per_write": size}  # fmt: skip


async def delta_versus_whole(args: argparse.Namespace, log_dir: Path) -> dict[str, float]:
    """Body sizes of a whole-session put and of a delta (the changed key only), and their round trips."""
    nodes = start_nodes(CONFIGS["all-sync"], 1, log_dir / "delta")
    url = nodes[0][0]
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            token = (await prepare_users(http, url, 1))[0]
            async with http.post(f"{url}/counter", headers={TOKEN_HEADER: token}):
                pass
            snapshot = await peer_get(http, url, "snapshot")
            whole = json.dumps({"from": "node-1", "ops": snapshot["ops"][:1]}, separators=(",", ":")).encode()
            delta = json.dumps({"from": "node-1", "ops": [{"op": "patch", "id": token, "version": 9,
                                "set": {"counter": 1}}]}, separators=(",", ":")).encode()  # fmt: skip
            # What the node receives for a delta-sized message: same auth and parse work, no session in it.
            padded = json.dumps({"from": "node-1", "ops": [], "pad": "x" * max(len(delta) - 35, 0)}).encode()
            whole_ms = await round_trips(http, url, whole, args.writes)
            delta_ms = await round_trips(http, url, padded, args.writes)
    finally:
        nodes[0][1].stop()
    head = len(_head(url, whole))
    return {"whole_body": len(whole), "delta_body": len(delta), "http_head": head, "whole_ms": whole_ms,
            "delta_ms": delta_ms}  # fmt: skip


def _head(url: str, body: bytes) -> str:
    path = REPLICATION_PREFIX + "apply"
    headers = {**sign(SECRET.encode(), "POST", path, body), "Content-Type": "application/json",
               "Host": url.removeprefix("http://"), "Content-Length": str(len(body)), "Accept": "*/*",
               "Accept-Encoding": "gzip, deflate", "User-Agent": "Python/3.11 aiohttp/3.14.5"}  # fmt: skip
    return f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"


async def round_trips(http: aiohttp.ClientSession, url: str, body: bytes, count: int) -> float:
    path = REPLICATION_PREFIX + "apply"
    times = []
    for _ in range(count):
        began = time.perf_counter()
        async with http.post(url + path, data=body, headers=sign(SECRET.encode(), "POST", path, body)) as response:
            await response.read()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--writes", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--peers", type=int, default=2, help="peers of the node under test")
    parser.add_argument("--no-delta", action="store_true", help="skip the whole-vs-delta comparison")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-replication-") as tmp:
        print(f"{'config':<14}{'p50 ms':>9}{'p99 ms':>9}{'msgs/write':>12}{'bytes/write':>13}")
        for name in args.configs.split(","):
            row = asyncio.run(bench(name, args, Path(tmp)))
            print(f"{name:<14}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}{row['messages_per_write']:>12.2f}"
                  f"{row['bytes_per_write']:>13.0f}")  # fmt: skip
        if args.no_delta:
            return 0
        sizes = asyncio.run(delta_versus_whole(args, Path(tmp)))
    print(f"\nwhole-session put: {sizes['whole_body']} body bytes, round trip p50 {sizes['whole_ms']:.2f} ms")
    print(f"delta (counter only): {sizes['delta_body']} body bytes, round trip p50 {sizes['delta_ms']:.2f} ms")
    print(f"every message also carries an HTTP head of about {sizes['http_head']} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
