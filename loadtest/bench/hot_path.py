"""The balancer's Python path alone: one proxied `GET /healthz` through the real client connection, reader,
exchange, router, pool and node connection, with in-memory transports instead of sockets (no kernel, no event-loop
wake-ups), so a change to the data path can be measured without the noise of a shared machine.

    python -m loadtest.bench.hot_path random 100000          # µs per request (best of 5 rounds)
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python -m loadtest.bench.hot_path random 3005
    # instructions per request: (Ir at 3005 requests - Ir at 5) / 3000; deterministic, robust to a busy machine

Run from the source tree to measure: the `balancer` package is imported from the working directory first.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

UPSTREAMS = "http://127.0.0.1:50001,http://127.0.0.1:50002"  # never connected to: the pool gets in-memory ones
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 36\r\n"
    b"Date: Mon, 07 Dec 2026 19:00:00 GMT\r\nServer: Python/3.11 aiohttp/3.14.5\r\n\r\n"
    b'{"node": "node-1", "status": "ok"}\r\n'
)  # a node's /healthz answer, as aiohttp writes it
SESSION = "SL_SESSION=bench0001xxxxxxxxxxxxxxxxxxxxxxxx"  # the bench's client cookie


class MemoryTransport:
    """What the balancer's protocols call on a transport; the bytes written are dropped."""

    def __init__(self) -> None:
        self.written = b""

    def write(self, data: bytes) -> None:
        self.written = data

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def can_write_eof(self) -> bool:
        return True

    def close(self) -> None: ...
    def abort(self) -> None: ...


async def measure(mode: str, requests: int, rounds: int = 5) -> list[float]:
    """µs per request of each round (`requests` in all), in routing `mode`."""
    from balancer.app import Balancer
    from balancer.pool import ConnectionPool
    from balancer.proxy import Proxy
    from balancer.settings import BalancerSettings
    from balancer.upstream_connection import UpstreamConnection

    env = {"BALANCER_UPSTREAMS": UPSTREAMS, "BALANCER_ROUTING": mode, "BALANCER_ROUTE_SECRET": "hot-path-" * 3}
    settings = BalancerSettings.from_env(env)
    balancer = Balancer(settings)
    pool = ConnectionPool(connect_timeout=2, read_timeout=30, limit=1000)
    for url in UPSTREAMS.split(","):
        for _ in range(4):  # kept-alive node connections, as after the first requests
            conn = UpstreamConnection(pool.forget, url, pool.clock)
            conn.connection_made(MemoryTransport())  # type: ignore[arg-type]
            pool.release(conn)
    client = Proxy(settings, balancer.router, pool, balancer.own_endpoint).connection()
    transport = MemoryTransport()
    client.connection_made(transport)  # type: ignore[arg-type]
    cookie = SESSION
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nCookie: %b\r\n\r\n"
    for _ in range(2):  # the first answer may set an affinity cookie: the client keeps it, as the bench's do
        client.data_received(request % cookie.encode())
        client.active.conn.data_received(ANSWER)  # type: ignore[union-attr]
        assert transport.written.startswith(b"HTTP/1.1 200 "), transport.written
        for line in transport.written.split(b"\r\n"):
            if line.lower().startswith(b"set-cookie:") and "; " not in cookie:
                cookie += "; " + line.split(b":", 1)[1].split(b";")[0].strip().decode()
    head = request % cookie.encode()
    per_round = max(1, requests // rounds)
    results = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(per_round):
            client.data_received(head)
            client.active.conn.data_received(ANSWER)  # type: ignore[union-attr]
        results.append((time.process_time() - started) / per_round * 1e6)
        assert transport.written.startswith(b"HTTP/1.1 200 "), transport.written  # still answering
    return results


def main(argv: list[str]) -> int:
    sys.path.insert(0, os.getcwd())
    mode = argv[0] if argv else "random"
    try:
        requests = int(argv[1]) if len(argv) > 1 else 100_000
    except ValueError:
        requests = 0
    if requests < 1:
        print(f"hot_path: REQUESTS must be a whole number above 0, not {argv[1]!r}", file=sys.stderr)
        return 2
    import uvloop

    from nodes.contract.envconfig import SettingsError

    try:
        results = uvloop.run(measure(mode, requests))
    except SettingsError as error:  # an unknown routing mode
        print(f"hot_path: {error}", file=sys.stderr)
        return 2
    print(f"{mode}: {min(results):.2f} µs per request, Python path only (best of {len(results)} rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
