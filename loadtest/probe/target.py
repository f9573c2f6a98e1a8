"""Before the load: can the target be reached, does it speak the probe's contract, and is it the lab's own cluster?

`preflight` logs one synthetic user in (an app user too when --kinds has one) and makes a few judged requests,
so a wrong flag is one clear line before any load is sent. `lab_cluster` recognises `sessionlab cluster` (its
balancer's status document and a node's /readyz), so the report can put the compare theory beside the figures.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp

from loadtest.probe.client import ProbeUser, new_http
from loadtest.probe.options import ProbeOptions
from loadtest.probe.record import Recording
from loadtest.probe.spec import Endpoint
from nodes.contract.names import BALANCER_STATUS_PATH, NODE_STORES, ROUTING_MODES

TRIES = 6  # judged requests the preflight makes at most, to see one answer that is not a miss


class ProbeError(Exception):
    """The target cannot be probed as asked: one line for the user."""


@dataclass(frozen=True)
class LabCluster:
    """The lab's own cluster behind the target: what the compare theory needs."""

    routing: str
    store: str
    nodes: int


async def reachable(http: aiohttp.ClientSession, target: str) -> None:
    """Raise ProbeError with the reason when nothing answers at the target."""
    try:
        async with http.get(target + "/", allow_redirects=False) as resp:
            await resp.read()
    except aiohttp.ClientConnectorError as error:
        raise ProbeError(f"cannot reach {target}: {_reason(error.os_error)}") from None
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise ProbeError(f"cannot reach {target}: {type(error).__name__} {error}".rstrip()) from None


def _reason(os_error: OSError | None) -> str:
    if isinstance(os_error, socket.gaierror):
        return f"the host name does not resolve ({os_error.strerror})"
    code = os_error.errno if os_error is not None else None
    return os.strerror(code).lower() if code and code > 0 else str(os_error)


async def preflight(options: ProbeOptions, connector: aiohttp.BaseConnector) -> None:
    """Log in one user per kind and judge a few answers; raise ProbeError naming the flag to fix."""
    for kind in options.kinds:
        async with new_http(options, kind, connector) as http:
            await reachable(http, options.target)
            user = ProbeUser(kind, http, options, Recording())
            try:
                await _try_user(user, options)
            finally:
                await user.logout()


async def _try_user(user: ProbeUser, options: ProbeOptions) -> None:
    for _ in range(TRIES):
        await _login(user, options)
        method, path, increments, clears, body = user.next_request()
        answer = await user.send(Endpoint(method, path), body)
        if answer is None:
            raise ProbeError(f"{method} {path}: no answer from {options.target}")
        outcome = user.judge(answer, increments, clears)
        if outcome == "error":
            raise ProbeError(_unjudgeable(options, method, path, answer.status))
        if outcome is None:
            return  # one answer judged a hit: the contract works
        user.has_session = False


async def _login(user: ProbeUser, options: ProbeOptions) -> None:
    if not await user.login():
        raise ProbeError(f"login {options.login} answered {user.login_status}: "
                         "give the login request with --login 'METHOD /path'")  # fmt: skip
    if user.kind == "app" and not user.token:
        raise ProbeError(f"app users: the login answer carries no {options.token_header} header "
                         "(give --token-header, or probe with --kinds browser)")  # fmt: skip


def _unjudgeable(options: ProbeOptions, method: str, path: str, status: int) -> str:
    if options.check is None:
        return (f"{method} {path} answered {status}: the target does not speak the lab nodes' contract; "
                "give --login and --check")  # fmt: skip
    if options.seen or options.missed:
        return f"--check {options.check} answered {status}, which no --seen or --missed rule names"
    return (f"--check {options.check} answered {status} without an integer \"counter\" field: return one that grows "
            "by one per call, or judge the answer with --seen/--missed")  # fmt: skip


async def lab_cluster(http: aiohttp.ClientSession, target: str) -> LabCluster | None:
    """The routing, store and healthy node count when the target is `sessionlab cluster`'s balancer, else None."""
    status, ready = await _json(http, target + BALANCER_STATUS_PATH), await _json(http, target + "/readyz")
    if not isinstance(status, dict) or not isinstance(ready, dict):
        return None
    routing, store, healthy = status.get("routing"), ready.get("store"), status.get("healthy")
    if routing not in ROUTING_MODES or store not in NODE_STORES or not isinstance(healthy, int) or healthy < 1:
        return None
    return LabCluster(str(routing), str(store), healthy)


async def _json(http: aiohttp.ClientSession, url: str) -> Any:
    try:
        async with http.get(url, allow_redirects=False) as resp:
            return await resp.json(content_type=None) if resp.status == 200 else None
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
        return None
