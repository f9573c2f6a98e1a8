"""Replicating node processes on free loopback ports, and the calls the replication tests make."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import aiohttp

from loadtest.lab.launcher import child_env, launch_node
from loadtest.lab.probe import http_status
from loadtest.lab.processes import ManagedProcess, free_ports
from nodes.contract.names import REPLICATION_PREFIX, TOKEN_HEADER
from nodes.contract.peer_signature import sign
from tests.support import eventually

__all__ = ["eventually"]  # re-exported: the replication tests import their helpers from here

SECRET = "test-peer-secret-0123456789abcdef"
FAST = {"SESSION_HEARTBEAT_INTERVAL": "0.2", "SESSION_REPLICATION_TIMEOUT": "0.5", "SESSION_STARTUP_PULL_TIMEOUT": "5"}
# For tests of what copies hold rather than of timeouts: a send or heartbeat that takes over 0.5 s on a busy
# machine (two test workers on two cores) would leave a live peer out and make a correct store look wrong.
PATIENT = {"SESSION_REPLICATION_TIMEOUT": "3"}


class Node:
    def __init__(self, index: int, port: int, process: ManagedProcess) -> None:
        self.index = index
        self.url = f"http://127.0.0.1:{port}"
        self.process = process

    def ready(self) -> bool:
        return http_status(self.url + "/readyz") == 200

    def freeze(self) -> None:
        assert self.process.pid is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process.pid is not None
        os.kill(self.process.pid, signal.SIGCONT)


class Cluster:
    """`count` nodes sharing one SESSION_PEERS list (each lists itself too); `spare` ports are reserved for nodes
    started later, and listed from the start, as a balancer's upstream list would be."""

    def __init__(self, log_dir: Path, count: int, spare: int = 0, **env: str) -> None:
        self.log_dir = log_dir
        self.ports = free_ports(count + spare)
        self.env = {**FAST, **env}
        self.nodes: list[Node] = []
        for _ in range(count):
            self.start_node()

    @property
    def peers(self) -> str:
        return ",".join(f"http://127.0.0.1:{port}" for port in self.ports)

    def start_node(self, wait: bool = True) -> Node:
        index = len(self.nodes)
        port = self.ports[index]
        env = child_env(
            {"SESSION_STORE": "replicated", "SESSION_PEERS": self.peers, "SESSION_PEER_SECRET": SECRET, **self.env}
        )
        process = launch_node(f"node-{index + 1}", "127.0.0.1", port, self.log_dir, env)  # logs to node-<n>.log
        node = Node(index, port, process)
        self.nodes.append(node)
        if wait:
            process.wait_ready(node.ready, 20.0)
        return node

    def stop(self) -> None:
        for node in self.nodes:
            if node.process.running():
                node.thaw()  # a SIGSTOPped node would ignore SIGTERM
            node.process.stop(grace=3.0)

    def log(self, node: Node) -> str:
        return (self.log_dir / f"node-{node.index + 1}.log").read_text(errors="replace")


async def login(client: aiohttp.ClientSession, node: Node, user: str = "ann") -> str:
    response = await client.post(f"{node.url}/login", json={"user": user}, headers={TOKEN_HEADER: "new"})
    assert response.status == 200, await response.text()
    return response.headers[TOKEN_HEADER]


async def me(client: aiohttp.ClientSession, node: Node, token: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"{node.url}/me", headers={TOKEN_HEADER: token})
    return response.status, await response.json()


async def increment(client: aiohttp.ClientSession, node: Node, token: str) -> int:
    response = await client.post(f"{node.url}/counter", headers={TOKEN_HEADER: token})
    assert response.status == 200, await response.text()
    return int((await response.json())["counter"])


async def peer_call(
    client: aiohttp.ClientSession, node: Node, method: str, name: str, body: bytes = b"", secret: str = SECRET
) -> aiohttp.ClientResponse:
    """A replication request signed with `secret`, as a peer (or a forger) would send it."""
    path = REPLICATION_PREFIX + name
    headers = sign(secret.encode(), method, path, body)
    return await client.request(method, node.url + path, data=body, headers=headers)


async def stats(client: aiohttp.ClientSession, node: Node) -> dict[str, Any]:
    response = await peer_call(client, node, "GET", "stats")
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def connected(client: aiohttp.ClientSession, cluster: Cluster, within: float = 10.0) -> None:
    """Wait until every running node sees every other one live (a fresh cluster finds itself within a beat)."""
    running = [node for node in cluster.nodes if node.process.running()]

    async def all_live() -> bool:
        answers = [await stats(client, node) for node in running]
        return all(answer["peers_live"] == len(running) - 1 for answer in answers)

    await eventually(all_live, within, "every node seeing every other live")
