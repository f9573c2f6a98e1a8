"""Settings: defaults, and a bad value stops the node at start-up with one readable line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nodes.contract.envconfig import SettingsError
from nodes.settings import DEV_SECRET, NodeSettings


def test_defaults() -> None:
    settings = NodeSettings.from_env({})
    assert (settings.node_id, settings.host, settings.port, settings.store) == (
        "node-8081",
        "127.0.0.1",
        8081,
        "memory",
    )
    assert settings.redis_url.reveal() == "redis://127.0.0.1:6379/0"
    assert settings.using_dev_secret and settings.secrets[0].reveal() == DEV_SECRET
    assert (settings.max_age, settings.cookie_secure, settings.memory_max) == (1800, False, 100_000)
    assert settings.shutdown_timeout == 5.0


def test_node_id_defaults_to_the_port() -> None:
    assert NodeSettings.from_env({"NODE_PORT": "9000"}).node_id == "node-9000"


def test_secrets_never_print() -> None:
    settings = NodeSettings.from_env({"SESSION_SECRET": DEV_SECRET, "REDIS_URL": "redis://:hunter2@db:6379/0"})
    assert DEV_SECRET not in repr(settings) and "hunter2" not in repr(settings)
    assert settings.redis_location() == "db:6379/0"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SESSION_STORE": "mongo"}, "SESSION_STORE='mongo' is invalid: expected one of memory, cookie, redis"),
        ({"NODE_PORT": "http"}, "NODE_PORT='http' is invalid: expected an integer from 1 to 65535"),
        ({"NODE_PORT": "70000"}, "NODE_PORT='70000' is out of range"),
        ({"SESSION_MAX_AGE": "-1"}, "SESSION_MAX_AGE='-1' is out of range"),
        ({"SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE='maybe' is invalid: expected 0 or 1"),
        (
            {"REDIS_URL": "http://x"},
            "REDIS_URL='http://x' is invalid: expected a redis://, redis+cluster:// or redis+sentinel://",
        ),
        ({"NODE_SHUTDOWN_TIMEOUT": "0"}, "NODE_SHUTDOWN_TIMEOUT='0' is out of range"),
        ({"SESSION_SECRET": f"{DEV_SECRET},not-a-key"}, "SESSION_SECRET item 2 of 2 (9 characters, value hidden)"),
        (
            {"SESSION_TOUCH": "lazy:0"},
            "SESSION_TOUCH='lazy:0' is invalid: expected always, on-change or lazy:<seconds>",
        ),
        ({"SESSION_TOUCH": "sometimes"}, "SESSION_TOUCH='sometimes' is invalid"),
        ({"SESSION_SAVE": "never"}, "SESSION_SAVE='never' is invalid: expected one of always, on-change"),
        ({"SESSION_SCHEMA": "3"}, "SESSION_SCHEMA='3' is invalid: expected one of 1, 2"),
        (
            {"SESSION_SCHEMA_COMPAT": "guess"},
            "SESSION_SCHEMA_COMPAT='guess' is invalid: expected one of migrate, reject",
        ),
        ({"SESSION_PAD_KB": "-1"}, "SESSION_PAD_KB='-1' is out of range"),
        ({"SESSION_COOKIE_DENYLIST": "memcached"}, "SESSION_COOKIE_DENYLIST='memcached' is invalid"),
        ({"SESSION_TTL": "60", "SESSION_MAX_AGE": "61"}, "SESSION_TTL=60 and SESSION_MAX_AGE=61 disagree"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        NodeSettings.from_env(env)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_malformed_secret_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        NodeSettings.from_env({"SESSION_SECRET": "my-very-secret-passphrase"})
    assert "my-very-secret-passphrase" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "variable"),
    [({"SESSION_STORE": "mongo"}, "SESSION_STORE"), ({"SESSION_SECRET": "short"}, "SESSION_SECRET")],
)
def test_the_node_process_stops_with_one_line_and_no_traceback(env: dict[str, str], variable: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nodes"], env={**os.environ, **env}, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_node_id_can_name_the_host_for_scaled_replicas() -> None:
    import socket

    settings = NodeSettings.from_env({"NODE_ID": "node-{hostname}-{port}", "NODE_PORT": "8081"})
    assert settings.node_id == f"node-{socket.gethostname()}-8081"
    with pytest.raises(SettingsError, match="NODE_ID='node-{host}' is invalid"):
        NodeSettings.from_env({"NODE_ID": "node-{host}"})


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://:hunter2-password@",  # no host
        "redis+sentinel://:hunter2-password@127.0.0.1:26379",  # no master name
        "redis+sentinel://:hunter2-password@not-a-port:x/mymaster",
        "http://user:hunter2-password@127.0.0.1:6379/0",  # wrong scheme
    ],
)
def test_a_malformed_redis_url_is_named_without_its_password(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        NodeSettings.from_env({"SESSION_STORE": "redis", "REDIS_URL": url})
    message = str(caught.value)
    assert "REDIS_URL=" in message and "hunter2" not in message and ":***@" in message


def test_session_life_settings_and_their_defaults() -> None:
    """The defaults keep each store's old behaviour; SESSION_TTL is SESSION_MAX_AGE by another name."""
    default = NodeSettings.from_env({})
    assert (default.touch, default.save, default.schema, default.schema_compat, default.pad_kb) == (
        "always", "on-change", 1, "migrate", 0.0
    )  # fmt: skip
    cookie = NodeSettings.from_env({"SESSION_STORE": "cookie", "SESSION_TTL": "300"})
    assert (cookie.max_age, cookie.touch, cookie.touch_interval) == (300, "lazy", 30.0)
    lazy = NodeSettings.from_env({"SESSION_TOUCH": "lazy:2.5", "SESSION_MAX_AGE": "60", "SESSION_TTL": "60"})
    assert (lazy.max_age, lazy.touch, lazy.touch_interval) == (60, "lazy", 2.5)
