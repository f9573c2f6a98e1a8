"""Every `sessionlab` command and every environment variable the node and the balancer read, given a bad value,
as real processes: one line on stderr that names the program and the problem, no traceback, a non-zero exit.

The variables come from the settings' own reads (`nodes.contract.envhelp.variables`), so a variable added later is
walked too; its bad value is derived from what it accepts (a number, a choice, 0 or 1), or picked below by name.
Each case fails at start-up, before anything listens (a bound port, a started node), so each takes one Python start.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from balancer.settings import BalancerSettings
from loadtest.lab.launcher import child_env
from loadtest.lab.processes import free_port
from nodes.contract.envconfig import Variable
from nodes.contract.envhelp import variables
from nodes.settings import EVERY_MODE, MIN_PEER_SECRET, NodeSettings
from tests.support import ROOT

pytestmark = pytest.mark.timeout(60)

UNRESOLVABLE = "nosuchhost.invalid"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (INFO|WARNING|DEBUG) ")  # logging's own lines
# Bad values for variables whose `allowed` text does not give one away.
BY_NAME = {
    "NODE_HOST": UNRESOLVABLE,
    "BALANCER_HOST": UNRESOLVABLE,
    "NODE_ID": "{nope}",
    "REDIS_URL": "http://not-redis:6379",
    "SESSION_SECRET": "not-a-fernet-key-shh",
    "SESSION_PEER_SECRET": "short-shh",
    "SESSION_PEERS": "ftp://peer:1",
    "SESSION_COOKIE_NAME": "bad name",
    "NODE_ROUTING": "bogus",
    "NODE_REQUEST_LOG": "/proc/nope/requests.log",  # a folder that cannot exist
    "BALANCER_UPSTREAMS": "ftp://node:1",
    "BALANCER_HEALTH_PATH": "no-slash",
    "BALANCER_STICKY_COOKIE": "bad name",
    "BALANCER_SESSION_COOKIE": "bad name",
    "BALANCER_SESSION_HEADER": "bad header",
    "BALANCER_ROUTE_SECRET": "short-shh",
    "BALANCER_ADMIN_TOKEN": "short-shh",
    "SESSION_TOUCH": "lazy:soon",
}
HIDDEN = ("SECRET", "TOKEN")  # never echoed, not even a wrong one


def named(item: object) -> str:
    """Test ids: the variable's name, or the command line."""
    return item if isinstance(item, str) else " ".join(item) if isinstance(item, list) else ""


def bad_values(variable: Variable) -> Iterator[str]:
    """Values `variable` must refuse: by name, else from what it accepts (wrong type, out of range, unknown choice)."""
    if variable.name in BY_NAME:
        yield BY_NAME[variable.name]
        return
    allowed = variable.allowed
    if allowed.startswith(("an integer", "a number")):
        yield "many"
        bounds = re.findall(r"-?\d+(?:\.\d+)?", allowed)
        if bounds:
            yield str(float(bounds[-1]) * 10 + 1 if "<=" in allowed or " to " in allowed else -1)
    elif allowed == "0 or 1":
        yield "maybe"
    elif " | " in allowed:
        yield "bogus"
    else:
        raise AssertionError(f"no bad value known for {variable.name} ({allowed!r}): add one to BY_NAME")


def node_cases() -> Iterator[tuple[str, dict[str, str]]]:
    base_names = {v.name for v in variables(NodeSettings.from_env, [{}])}
    replicated = {"SESSION_STORE": "replicated", "SESSION_PEER_SECRET": "p" * MIN_PEER_SECRET}
    for variable in variables(NodeSettings.from_env, EVERY_MODE):
        base = {} if variable.name in base_names else replicated
        for value in bad_values(variable):
            yield variable.name, {**base, variable.name: value}


def balancer_cases() -> Iterator[tuple[str, dict[str, str]]]:
    base = {"BALANCER_UPSTREAMS": "http://127.0.0.1:1"}
    for variable in variables(BalancerSettings.from_env, [base]):
        for value in bad_values(variable):
            yield variable.name, {**base, variable.name: value}


def run(args: list[str], env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`sessionlab ARGS` in a clean environment (no NODE_*, SESSION_* ... of the caller's shell) plus `env`."""
    full = child_env({"NODE_PORT": str(free_port()), "BALANCER_PORT": str(free_port()), **(env or {})})
    argv = [sys.executable, "-m", "loadtest.cli", *args]
    return subprocess.run(argv, env=full, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def the_error_line(result: subprocess.CompletedProcess[str], program: str) -> str:
    """The one line that says what is wrong; argparse's usage lines and the log lines before it aside."""
    assert result.returncode != 0, f"{result.args} succeeded:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]
    lines = [line for line in lines if not line.startswith(("usage:", " "))]  # argparse's usage block
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{program}:"), lines[0]
    return lines[0]


@pytest.mark.parametrize(("name", "env"), list(node_cases()), ids=named)
def test_a_bad_node_variable_is_one_line(name: str, env: dict[str, str]) -> None:
    line = the_error_line(run(["node"], env), "sessionlab node")
    assert name in line
    if any(word in name for word in HIDDEN):
        assert env[name] not in line


@pytest.mark.parametrize(("name", "env"), list(balancer_cases()), ids=named)
def test_a_bad_balancer_variable_is_one_line(name: str, env: dict[str, str]) -> None:
    line = the_error_line(run(["balancer"], env), "sessionlab balancer")
    assert name in line
    if any(word in name for word in HIDDEN):
        assert env[name] not in line


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


@pytest.mark.parametrize(("command", "variable"), [("node", "NODE_PORT"), ("balancer", "BALANCER_PORT")])
def test_a_port_in_use_is_one_line(command: str, variable: str, busy_port: int) -> None:
    env = {variable: str(busy_port), "BALANCER_UPSTREAMS": "http://127.0.0.1:1"}
    line = the_error_line(run([command], env), f"sessionlab {command}")
    assert line == f"sessionlab {command}: cannot listen on 127.0.0.1:{busy_port}: Address already in use"


@pytest.mark.parametrize("command", ["node", "balancer"])
def test_an_option_points_at_its_variable(command: str) -> None:
    line = the_error_line(run([command, "--port", "9000"]), f"sessionlab {command}")
    assert line.endswith(f"{command.upper()}_PORT=9000 sessionlab {command}")


def a_file(tmp_path: Path) -> str:
    path = tmp_path / "a-file"
    path.write_text("")
    return str(path)


CLUSTER_CASES = [
    (["--port", "70000"], "70000 is not a port"),
    (["--port", "-1"], "-1 is not a port"),
    (["--port", "http"], "'http' is not a port"),
    (["--nodes", "0"], "--nodes must be from 1"),
    (["--host", UNRESOLVABLE], f"--host {UNRESOLVABLE}: cannot resolve host"),
    (["--logs", "/proc/nope"], "--logs /proc/nope: cannot write the logs there"),
    (["--logs", "{file}"], "not a folder"),
    (["--store", "bogus"], "invalid choice"),
    (["--routing", "bogus"], "invalid choice"),
    (["--store", "memory", "--redis-cluster"], "--redis-cluster is a session store for --store redis"),
]


@pytest.mark.parametrize(("args", "says"), CLUSTER_CASES, ids=named)
def test_a_bad_cluster_option_is_one_line(args: list[str], says: str, tmp_path: Path) -> None:
    args = [a_file(tmp_path) if arg == "{file}" else arg for arg in args]
    assert says in the_error_line(run(["cluster", *args]), "sessionlab cluster")


@pytest.mark.parametrize(("variable", "value"), [("BALANCER_ROUTING", "bogus"), ("SESSION_STORE", "bogus")])
def test_a_bad_cluster_default_from_the_environment_is_one_line(variable: str, value: str) -> None:
    assert variable in the_error_line(run(["cluster"], {variable: value}), "sessionlab cluster")


def test_the_cluster_names_a_busy_balancer_port(busy_port: int) -> None:
    line = the_error_line(run(["cluster", "--port", str(busy_port)]), "sessionlab cluster")
    assert f"balancer port {busy_port} on 127.0.0.1: Address already in use" in line


def test_a_malformed_redis_url_stops_the_cluster_with_the_nodes_reason(tmp_path: Path) -> None:
    result = run(["cluster", "--nodes", "1", "--store", "redis", "--port", "0", "--logs", str(tmp_path)],
                 {"REDIS_URL": "http://not-redis:6379"})  # fmt: skip
    line = the_error_line(result, "sessionlab cluster")
    assert f"node-1 exited with status 2; log: {tmp_path / 'node-1.log'}" in line
    assert "REDIS_URL='http://not-redis:6379' is invalid" in line


@pytest.mark.parametrize(
    ("args", "program", "says"),
    [
        (["nope"], "sessionlab", "unknown command 'nope'"),
        (["compare", "--routing", "bogus"], "sessionlab compare", "'bogus'"),
        (["compare", "--out", "/proc/nope"], "sessionlab compare", "cannot use /proc/nope"),
        (["compare", "--nodes", "0"], "sessionlab compare", "--nodes"),
        (["bench", "--out", "/proc/nope"], "sessionlab bench", "cannot use /proc/nope"),
        (["bench", "--baseline", "/nonexistent"], "sessionlab bench", "cannot use /nonexistent"),
        (["bench", "--seconds", "x"], "sessionlab bench", "invalid"),
        (["bench", "--seconds", "-1"], "sessionlab bench", "--seconds must be at least 1"),
        (["bench", "--connections", "0"], "sessionlab bench", "--connections must be at least 1"),
        (["bench", "--only", ","], "sessionlab bench", "--only needs row names"),
        (["compare", "--duration", "-1"], "sessionlab compare", "--duration must be a whole number of seconds >= 1"),
        (["compare", "--balancer-replicas", "9"], "sessionlab compare", "--balancer-replicas must be between 1 and 4"),
        (["repeat", "--runs", "0"], "sessionlab repeat", "--runs 0 counts only an earlier repeat's runs"),
        (["repeat", "--add", "/nonexistent"], "sessionlab repeat", "--add /nonexistent: not a folder"),
    ],
    ids=named,
)
def test_other_commands_refuse_bad_options_in_one_line(args: list[str], program: str, says: str) -> None:
    assert says in the_error_line(run(args), program)


def test_version() -> None:
    result = run(["--version"])
    assert result.returncode == 0 and re.fullmatch(r"sessionlab \d+\.\d+\.\d+\S*\n", result.stdout), result
