"""A TCP relay that adds a fixed delay each way: the shared store "a network hop away", on loopback.

`python -m loadtest.lab.delay --delay-ms 2 --route 127.0.0.1:7001=127.0.0.1:6379 [--route ...]` listens on
each route's first address and relays to its second, holding every chunk MS/2 before passing it on, in each
direction: an added round trip of MS. Order is kept (one queue per direction); nothing caps throughput but the
delay itself. When the target refuses or drops, the client's connection is closed, as a dead server's would be.

Why a relay and not netem: `tc qdisc ... netem` needs the kernel's `sch_netem` (missing on the lab machines) and
would delay every loopback user of the machine, other test runs included. `netem_available()` says whether it
exists; results name the method used (`store_delay_method`).

Timers: asyncio's default epoll selector waits in whole milliseconds, which turns a 0.5 ms half-trip into 1 ms;
select(2) takes microseconds, so the relay runs its loop on `selectors.SelectSelector` (few descriptors here).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import functools
import platform
import selectors
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

CHUNK = 64 * 1024
READY_LINE = "relay ready"
PR_SET_TIMERSLACK = 29
# The relay's own cost each way (wake-up, read, write: ~0.06 ms per direction here), taken off the delay so the
# round trip grows by what was asked, not by that plus the extra hop.
HOP_COST = 0.00006
MAX_EARLY = 0.00025  # seconds a chunk may be scheduled ahead of its due time, at most


@dataclass(frozen=True)
class Route:
    """Listen on `listen`, relay to `target` (each host:port)."""

    listen: tuple[str, int]
    target: tuple[str, int]

    @classmethod
    def parse(cls, text: str) -> Route:
        listen, _, target = text.partition("=")
        return cls(_address(listen), _address(target))

    def __str__(self) -> str:
        return f"{self.listen[0]}:{self.listen[1]}={self.target[0]}:{self.target[1]}"


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected host:port")
    return host, int(port)


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, half_trip: float) -> None:
    """Copy one direction, each chunk leaving `half_trip` seconds after it arrived, in arrival order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    sender = asyncio.create_task(_send_due(queue, writer))
    try:
        while chunk := await reader.read(CHUNK):
            queue.put_nowait((loop.time() + half_trip, chunk))
    except OSError:
        pass
    finally:
        queue.put_nowait((loop.time() + half_trip, b""))  # end of stream, delayed like the data before it
        await sender


class WakeUpLateness:
    """How late a timer fires after the time it was set for (EWMA, seconds): sleeps are shortened by it, so a
    chunk leaves at its due time and not a timer-slack later."""

    def __init__(self) -> None:
        self.estimate = 0.0

    async def sleep_until(self, due: float) -> None:
        loop = asyncio.get_running_loop()
        target = due - self.estimate
        if (wait := target - loop.time()) <= 0:
            return
        await asyncio.sleep(wait)
        late = min(max(loop.time() - target, 0.0), MAX_EARLY)  # a descheduled process must not skew it for good
        self.estimate += (late - self.estimate) / 16


LATENESS = WakeUpLateness()


async def _send_due(queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            due, chunk = await queue.get()
            await LATENESS.sleep_until(due)
            if not chunk:
                break
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def relay(route: Route, half_trip: float, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
    try:
        server_r, server_w = await asyncio.open_connection(*route.target)
    except OSError:
        client_w.close()  # a dead target: the client sees its connection closed, as with the server itself
        return
    await asyncio.gather(pump(client_r, server_w, half_trip), pump(server_r, client_w, half_trip))


async def serve(routes: list[Route], delay_ms: float) -> None:
    half_trip = max(delay_ms / 2000.0 - HOP_COST, 0.0)
    servers = [await asyncio.start_server(functools.partial(relay, rt, half_trip), *rt.listen) for rt in routes]
    print(READY_LINE, " ".join(map(str, routes)), f"delay_ms={delay_ms:g}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def _fine_timer_slack() -> None:
    """Linux lets a sleeping thread wake up to 50 us late by default; ask for 1 ns (PR_SET_TIMERSLACK)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1)


def netem_available() -> bool:
    """Whether this kernel has the netem qdisc (loaded, or as a module file); never changes any qdisc."""
    if Path("/sys/module/sch_netem").exists():  # loaded (or built in)
        return True
    with contextlib.suppress(OSError):
        return any((Path("/lib/modules") / platform.release()).rglob("sch_netem.ko*"))
    return False


def delay_method(delay_ms: float) -> str:
    """What results report as `store_delay_method`."""
    if delay_ms <= 0:
        return "none"
    return "relay (netem present, not used: it would delay all loopback traffic)" if netem_available() else "relay"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.lab.delay", description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, required=True, help="added round-trip time, half each way")
    parser.add_argument("--route", type=Route.parse, action="append", required=True, help="LISTEN=TARGET host:port")
    args = parser.parse_args(argv)
    if args.delay_ms < 0:
        parser.error("--delay-ms must be >= 0")
    _fine_timer_slack()
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        loop.run_until_complete(serve(args.route, args.delay_ms))
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
