"""docker-compose.yml and the Dockerfile, checked without a Docker engine (none runs on the dev machines).

What can silently go wrong in a compose file is checked against the real code: every command exists, every
environment variable is one that a settings object (or locust) reads, the defaults parse, and the ports and
names the services use to find each other agree.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from balancer.settings import BalancerSettings
from loadtest.cli import SUBCOMMANDS
from nodes.contract.envhelp import variables
from nodes.settings import EVERY_MODE, NodeSettings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
PROJECT_SERVICES = ("node", "balancer", "locust-master", "locust-worker")
DEFAULT = re.compile(r"^\$\{(?P<name>\w+)(?::?-(?P<default>[^}]*))?\}$")


class RecordingEnv(Mapping[str, str]):
    """An environment that answers nothing (or the given values) and remembers every name asked for."""

    def __init__(self, given: Mapping[str, str] | None = None) -> None:
        self.given = dict(given or {})
        self.asked: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return self.given[key]

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(key)
        return self.given.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.given)

    def __len__(self) -> int:
        return len(self.given)


def names_read_by(from_env: Callable[[Mapping[str, str]], object], required: Mapping[str, str]) -> set[str]:
    env = RecordingEnv(required)
    from_env(env)
    return env.asked


def locust_env_vars() -> set[str]:
    """LOCUST_* names locust's own option parser knows (asked in a subprocess: importing locust patches gevent)."""
    code = (
        "import json; from locust.argument_parser import get_parser; "
        "print(json.dumps(sorted({a.env_var for a in get_parser()._actions if getattr(a, 'env_var', None)})))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def environment(service: str) -> dict[str, str]:
    return {name: str(value) for name, value in (SERVICES[service].get("environment") or {}).items()}


def with_defaults(env: Mapping[str, str]) -> dict[str, str]:
    """The environment a container gets when the shell sets nothing: ${VAR:-default} → default."""
    resolved = {}
    for name, value in env.items():
        match = DEFAULT.match(value)
        resolved[name] = match.group("default") or "" if match else value
    return resolved


def test_the_file_has_every_service_and_load_generators_only_on_request() -> None:
    assert set(SERVICES) == {"redis", "node", "balancer", "locust-master", "locust-worker", "front"}
    assert SERVICES["front"]["profiles"] == ["front"]  # another balancer in front: only on request
    for service in ("locust-master", "locust-worker"):
        assert SERVICES[service]["profiles"] == ["load"]
    for service in ("redis", "node", "balancer"):
        assert "profiles" not in SERVICES[service]
        assert "healthcheck" in SERVICES[service]
    assert SERVICES["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


@pytest.mark.parametrize("service", PROJECT_SERVICES)
def test_every_project_service_runs_an_entry_point_that_exists(service: str) -> None:
    command = SERVICES[service]["command"]
    assert SERVICES[service]["build"] == "."
    if command[0] == "sessionlab":
        module = SUBCOMMANDS[command[1]][0]
        assert importlib.util.find_spec(module) is not None
    else:
        assert command[0] == "locust"
        locustfile = environment(service)["LOCUST_LOCUSTFILE"]
        assert (ROOT / locustfile).is_file()


def test_node_variables_are_all_known_and_their_defaults_parse() -> None:
    env = environment("node")
    assert set(env) <= {variable.name for variable in variables(NodeSettings.from_env, EVERY_MODE)}
    settings = NodeSettings.from_env(with_defaults(env))
    assert (settings.host, settings.store) == ("0.0.0.0", "redis")


def test_balancer_variables_are_all_known_and_their_defaults_parse() -> None:
    env = environment("balancer")
    assert set(env) <= names_read_by(BalancerSettings.from_env, {"BALANCER_UPSTREAMS": "http://node:1"})
    settings = BalancerSettings.from_env(with_defaults(env))
    assert settings.host == "0.0.0.0"


def test_locust_variables_are_options_locust_knows() -> None:
    known = locust_env_vars()
    for service in ("locust-master", "locust-worker"):
        assert set(environment(service)) <= known, service


PARSE_LOCUST_OPTIONS = """
import json, sys
from locust.argument_parser import parse_options
options = parse_options(sys.argv[1:])
print(json.dumps({"master": options.master, "worker": options.worker, "headless": options.headless}))
"""


@pytest.mark.parametrize("service", ["locust-master", "locust-worker"])
def test_locust_accepts_the_command_and_the_default_environment(service: str) -> None:
    env = {**os.environ, **with_defaults(environment(service))}
    argv = [sys.executable, "-c", PARSE_LOCUST_OPTIONS, *SERVICES[service]["command"][1:]]
    result = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout.strip().splitlines()[-1])
    assert options[service.removeprefix("locust-")] is True
    assert options["headless"] is False  # the web UI unless LOCUST_HEADLESS=true


def test_services_agree_on_names_and_ports() -> None:
    node, balancer = with_defaults(environment("node")), with_defaults(environment("balancer"))
    upstream = urlsplit(balancer["BALANCER_UPSTREAMS"])
    assert (upstream.scheme, upstream.hostname, upstream.port) == ("dns", "node", int(node["NODE_PORT"]))
    assert SERVICES["node"]["expose"] == [node["NODE_PORT"]]
    assert f":{node['NODE_PORT']}/healthz" in " ".join(SERVICES["node"]["healthcheck"]["test"])
    assert f":{balancer['BALANCER_PORT']}/_balancer/status" in " ".join(SERVICES["balancer"]["healthcheck"]["test"])
    assert SERVICES["balancer"]["ports"][0].endswith(f":{balancer['BALANCER_PORT']}")
    redis_url = urlsplit(node["REDIS_URL"])
    assert (redis_url.hostname, redis_url.port) == ("redis", 6379)
    assert environment("locust-master")["LOCUST_HOST"] == f"http://balancer:{balancer['BALANCER_PORT']}"
    assert environment("locust-worker")["LOCUST_MASTER_NODE_HOST"] == "locust-master"


def test_startup_order_waits_for_health() -> None:
    assert SERVICES["node"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert SERVICES["balancer"]["depends_on"]["node"]["condition"] == "service_healthy"
    assert SERVICES["locust-master"]["depends_on"]["balancer"]["condition"] == "service_healthy"


def test_the_dockerfile_copies_what_runs_and_drops_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (?!--from)(\S+) ", dockerfile, flags=re.MULTILINE)  # --from: another stage's
    for source in copied:
        assert (ROOT / source).exists(), source
    assert {"nodes", "balancer", "loadtest"} <= set(copied)
    assert re.search(r"^FROM python:3\.\d+-slim( AS \w+)?$", dockerfile, flags=re.MULTILINE)
    assert dockerfile.rstrip().splitlines()[-1].startswith("CMD") and "FROM lab AS app" in dockerfile  # app: last
    assert re.search(r"^USER (?!root)\w+$", dockerfile, flags=re.MULTILINE)


@pytest.mark.parametrize("balancer", ["nginx", "haproxy", "caddy", "apache"])
def test_the_front_service_renders_each_balancers_config_from_the_labs_templates(balancer: str, tmp_path: Path) -> None:
    front = SERVICES["front"]
    assert front["build"]["target"] == "front" and "FROM lab AS front" in (ROOT / "Dockerfile").read_text()
    env = {**os.environ, "BALANCER": balancer, "BALANCER_ROUTING": "random", "FRONT_NODES": "2"}
    argv = [sys.executable, *front["command"][1:3], "render", "--folder", str(tmp_path)]
    run = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 0, run.stderr
    written = "".join(Path(line).read_text() for line in run.stdout.split())
    assert "sessionlab-node-1:8081" in written and "sessionlab-node-2:8081" in written and ":8080" in written
