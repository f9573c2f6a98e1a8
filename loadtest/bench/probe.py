"""Small load clients `sessionlab bench` runs as their own (pinned) processes; each prints one JSON line.

- `floor`: the redis.asyncio GET+SET round trip on its own, the most a Redis-backed node could do per session.
- `logins`: N logins (each a new session) as fast as a node takes them, to measure a memory store's growth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit

import redis.asyncio as aioredis

SESSION_LIKE_VALUE = json.dumps({"created": 1, "indexed": 1, "session": {"user": "bench", "counter": 0, "cart": []}})


async def redis_floor(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    """GET+SET pairs per second (and their latency) from `concurrency` loops sharing one client."""
    client = aioredis.Redis.from_url(url, max_connections=concurrency)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(index: int) -> None:
        key, value = f"bench:floor:{index}", SESSION_LIKE_VALUE.encode()
        await client.set(key, value)
        while (started := time.perf_counter()) < deadline:
            await client.get(key)
            await client.set(key, value)
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(loop(index) for index in range(concurrency)))
    elapsed = time.perf_counter() - began
    await client.aclose()
    latencies.sort()
    return {
        "pairs": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }


async def logins(url: str, count: int, concurrency: int) -> dict[str, float]:
    """`count` POST /login on keep-alive connections, each a new session; counts the ones that failed."""
    parts = urlsplit(url)
    remaining = iter(range(count))
    failed = 0

    async def worker() -> None:
        nonlocal failed
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for index in remaining:
            body = json.dumps({"user": f"mem-{index}"}).encode()
            writer.write(
                b"POST /login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%b" % (len(body), body)
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            failed += not head.startswith(b"HTTP/1.1 200 ")
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"logins": count, "failed": failed, "seconds": time.perf_counter() - began}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.bench.probe", description=__doc__)
    sub = parser.add_subparsers(dest="probe", required=True)
    floor = sub.add_parser("floor")
    floor.add_argument("--redis-url", required=True)
    floor.add_argument("--seconds", type=float, default=3.0)
    floor.add_argument("--concurrency", type=int, default=50)
    login = sub.add_parser("logins")
    login.add_argument("--url", required=True)
    login.add_argument("--count", type=int, default=100_000)
    login.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    if args.probe == "floor":
        result = asyncio.run(redis_floor(args.redis_url, args.seconds, args.concurrency))
    else:
        result = asyncio.run(logins(args.url, args.count, args.concurrency))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
