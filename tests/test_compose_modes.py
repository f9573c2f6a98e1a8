"""docker-compose.yml rendered as `docker compose config` would render it, for every mode the CLI runs.

No Docker engine runs here, so the test interpolates the file itself (`${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?error}`, `${VAR:+other}`, `$$`) with the variables a user would set in the shell, then checks what each
container gets: the node and balancer settings that `sessionlab cluster` gives the same store x routing, and a
place to write that the container's user owns (a bind mount's owner is the host's business, so none is allowed
where a container writes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from balancer.settings import BalancerSettings
from loadtest.lab.cluster import ClusterConfig, LocalCluster
from nodes.contract.names import NODE_STORES, REPLICATED_STORE, ROUTE, ROUTING_MODES
from nodes.settings import NodeSettings

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "docker-compose.yml").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# What runs as the `balancer` service; a real balancer added later (BALANCER=nginx ...) joins this tuple.
BALANCERS = ("sessionlab",)
# The node-side settings that make a store x routing what it is (what the CLI's cluster sets per mode).
MODE_FIELDS = ("store", "route_tag", "replication", "replication_mode", "routing")
VARIABLE = re.compile(r"\$(?:\$|\{(?P<name>\w+)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<bare>\w+))")


def interpolate(text: str, shell: Mapping[str, str]) -> str:
    """Compose's variable substitution; an error form (`:?`) on an unset variable fails the test, as compose would."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg, value = match.group("op"), match.group("arg") or "", shell.get(name)
        unset, empty = value is None, not value
        if op in (":-", "-"):
            return arg if (empty if op == ":-" else unset) else str(value)
        if op in (":?", "?"):
            assert not (empty if op == ":?" else unset), f"compose would refuse: {name} {arg}"
            return str(value)
        if op in (":+", "+"):
            return arg if not (empty if op == ":+" else unset) else ""
        return value or ""

    return VARIABLE.sub(one, text)


def render(shell: Mapping[str, str]) -> dict[str, Any]:
    """The compose model after interpolation (comments dropped by YAML; anchors and merges resolved)."""
    model = yaml.safe_load(TEXT)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return interpolate(item, shell)
        if isinstance(item, list):
            return [walk(value) for value in item]
        if isinstance(item, dict):
            return {key: walk(value) for key, value in item.items()}
        return item

    return dict(walk(model))


def container_env(model: Mapping[str, Any], service: str) -> dict[str, str]:
    """The environment a container gets; an empty value counts as unset, as the settings read it."""
    raw = model["services"][service].get("environment") or {}
    return {name: str(value) for name, value in raw.items() if value not in (None, "")}


def cluster_node_settings(store: str, routing: str) -> NodeSettings:
    """What `sessionlab cluster --store S --routing R` gives every node (its env, read by the node's own settings)."""
    cluster = LocalCluster(ClusterConfig(store=store, routing=routing))
    env = {"SESSION_STORE": store, **cluster.mode_settings(["http://127.0.0.1:1", "http://127.0.0.1:2"])}
    return NodeSettings.from_env(env)


MODES = [(store, routing, balancer) for store in NODE_STORES for routing in ROUTING_MODES for balancer in BALANCERS]


@pytest.mark.parametrize(("store", "routing", "balancer"), MODES)
def test_every_store_and_routing_gets_what_the_cli_gives_it(store: str, routing: str, balancer: str) -> None:
    model = render({"SESSION_STORE": store, "BALANCER_ROUTING": routing, "BALANCER": balancer})
    node = NodeSettings.from_env(container_env(model, "node"))  # raises, as the node would exit 2, when one is missing
    expected = cluster_node_settings(store, routing)
    assert {f: getattr(node, f) for f in MODE_FIELDS} == {f: getattr(expected, f) for f in MODE_FIELDS}
    assert node.route_tag is (routing == ROUTE)
    if store == REPLICATED_STORE:
        assert node.peers == ("dns://node:8081",) and node.peer_secret is not None
    front = BalancerSettings.from_env(container_env(model, "balancer"))
    assert (front.routing, front.discover[0].name) == (routing, "node")


def test_a_users_own_secrets_and_modes_pass_through() -> None:
    shell = {"SESSION_STORE": REPLICATED_STORE, "SESSION_PEER_SECRET": "my-own-peer-secret-1234",
             "SESSION_REPLICATION": "backup", "SESSION_REPLICATION_MODE": "async", "SESSION_ROUTE_TAG": "0",
             "BALANCER_ROUTING": ROUTE}  # fmt: skip
    node = NodeSettings.from_env(container_env(render(shell), "node"))
    assert node.peer_secret is not None and node.peer_secret.reveal() == shell["SESSION_PEER_SECRET"]
    assert (node.replication, node.replication_mode, node.route_tag) == ("backup", "async", False)


def image_user() -> tuple[str, int]:
    """The Dockerfile's USER and the uid it is created with."""
    user = re.findall(r"^USER (\S+)$", DOCKERFILE, flags=re.MULTILINE)[-1]
    uid = re.search(rf"useradd [^\n]*--uid (\d+) {user}\b", DOCKERFILE)
    assert uid, "the USER is made by useradd --uid"
    return user, int(uid.group(1))


def image_owned_dirs(user: str) -> set[PurePosixPath]:
    """Folders the image creates and hands to `user` (`mkdir -p D && chown user D`)."""
    workdir = PurePosixPath(re.findall(r"^WORKDIR (\S+)$", DOCKERFILE, flags=re.MULTILINE)[-1])
    return {workdir / path for path in re.findall(rf"chown (?:-R )?{user}(?::\S+)? (\S+)", DOCKERFILE)}


def written_dirs(env: Mapping[str, str], workdir: PurePosixPath) -> set[PurePosixPath]:
    """The folders a container writes to: locust's CSV prefix and HTML report (nodes and balancer only log)."""
    paths = [env[name] for name in ("LOCUST_CSV", "LOCUST_HTML") if name in env]
    return {(workdir / path).parent for path in paths}


@pytest.mark.parametrize("service", ["node", "balancer", "locust-master", "locust-worker"])
def test_every_container_can_write_where_it_writes(service: str) -> None:
    model = render({})
    spec = model["services"][service]
    user, uid = image_user()
    assert spec.get("user") in (None, user, str(uid)), "a service runs as the image's user"
    workdir = PurePosixPath(re.findall(r"^WORKDIR (\S+)$", DOCKERFILE, flags=re.MULTILINE)[-1])
    owned = image_owned_dirs(user)
    mounts = [volume.split(":") for volume in spec.get("volumes", [])]
    for folder in written_dirs(container_env(model, service), workdir):
        assert folder in owned, f"{service} writes {folder}, which the image does not give to {user}"
        for source, target, *_ in mounts:
            if folder.is_relative_to(target):
                # A named volume starts as a copy of the image's folder, owner included; a bind mount does not.
                assert not source.startswith((".", "/", "~")), f"{service}: {folder} is a bind mount of {source}"
                assert source in (model.get("volumes") or {}), f"{service}: volume {source} is not declared"
