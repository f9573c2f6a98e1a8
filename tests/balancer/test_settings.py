"""Balancer settings: read once from BALANCER_* env vars; a bad value stops start-up with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from balancer.settings import BalancerSettings
from nodes.contract.envconfig import Secret, SettingsError

UPSTREAMS = {"BALANCER_UPSTREAMS": "http://127.0.0.1:8081,http://127.0.0.1:8082"}


def test_defaults_match_the_documented_table() -> None:
    settings = BalancerSettings.from_env(UPSTREAMS)
    assert settings.upstreams == ("http://127.0.0.1:8081", "http://127.0.0.1:8082")
    assert (settings.host, settings.port, settings.routing) == ("127.0.0.1", 8080, "random")
    assert (settings.health_interval, settings.sticky_cookie) == (1.0, "SL_ROUTE")
    assert (settings.session_cookie, settings.session_header) == ("SL_SESSION", "X-Session-Token")
    assert settings.using_dev_secret


def test_every_setting_is_read() -> None:
    env = {
        "BALANCER_UPSTREAMS": " http://node-a:8081/ , https://[::1]:9000",
        "BALANCER_HOST": "0.0.0.0",
        "BALANCER_PORT": "9090",
        "BALANCER_ROUTING": "hash",
        "BALANCER_HEALTH_INTERVAL": "0.5",
        "BALANCER_HEALTH_TIMEOUT": "0.2",
        "BALANCER_HEALTH_PATH": "/readyz",
        "BALANCER_STICKY_COOKIE": "ROUTE",
        "BALANCER_SESSION_COOKIE": "sid",
        "BALANCER_SESSION_HEADER": "X-Token",
        "BALANCER_ROUTE_SECRET": "a-long-enough-route-secret",
        "BALANCER_ADMIN_TOKEN": "a-long-enough-admin-token",
        "BALANCER_HASH_VNODES": "50",
        "BALANCER_MAX_CONNECTIONS": "64",
        "BALANCER_CONNECT_TIMEOUT": "0.5",
        "BALANCER_READ_TIMEOUT": "5",
        "BALANCER_SHUTDOWN_TIMEOUT": "3",
        "BALANCER_ACCESS_LOG": "1",
        "BALANCER_LOG_LEVEL": "DEBUG",
    }
    settings = BalancerSettings.from_env(env)
    assert settings == BalancerSettings(
        upstreams=("http://node-a:8081", "https://[::1]:9000"),
        host="0.0.0.0",
        port=9090,
        routing="hash",
        health_interval=0.5,
        health_timeout=0.2,
        health_path="/readyz",
        sticky_cookie="ROUTE",
        session_cookie="sid",
        session_header="X-Token",
        route_secret=Secret("a-long-enough-route-secret"),
        admin_token=Secret("a-long-enough-admin-token"),
        hash_vnodes=50,
        max_connections=64,
        connect_timeout=0.5,
        read_timeout=5.0,
        shutdown_timeout=3.0,
        access_log=True,
        log_level="DEBUG",
    )
    assert not settings.using_dev_secret
    assert "a-long-enough" not in repr(settings)
    assert BalancerSettings.from_env(UPSTREAMS).admin_token is None  # unset: no runtime API


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BALANCER_UPSTREAMS", ","),
        ("BALANCER_UPSTREAMS", "127.0.0.1:8081"),
        ("BALANCER_UPSTREAMS", "dns://node"),
        ("BALANCER_UPSTREAMS", "dns://node:8081/path"),
        ("BALANCER_UPSTREAMS", "dns://node:1,dns://node:1"),
        ("BALANCER_UPSTREAMS", "http://node:8081/api"),
        ("BALANCER_UPSTREAMS", "http://node:99999"),
        ("BALANCER_UPSTREAMS", "http://node:1,http://node:1/"),
        ("BALANCER_PORT", "http"),
        ("BALANCER_PORT", "0"),
        ("BALANCER_ROUTING", "least_conn"),
        ("BALANCER_HEALTH_INTERVAL", "-1"),
        ("BALANCER_STICKY_COOKIE", "bad name;"),
        ("BALANCER_SESSION_HEADER", "X Token"),
        ("BALANCER_HEALTH_PATH", "healthz"),
        ("BALANCER_READ_TIMEOUT", "soon"),
        ("BALANCER_ACCESS_LOG", "maybe"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        BalancerSettings.from_env({**UPSTREAMS, name: value})
    assert str(error.value).startswith(name)
    assert "\n" not in str(error.value)


def test_missing_upstreams_say_what_is_expected() -> None:
    with pytest.raises(SettingsError, match="BALANCER_UPSTREAMS is required.*http://127.0.0.1:8081"):
        BalancerSettings.from_env({})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BALANCER_ROUTE_SECRET", "tiny-s3cret"),
        ("BALANCER_ADMIN_TOKEN", "tiny-s3cret"),
        ("BALANCER_UPSTREAMS", "ftp://admin:hunter2hunter2@node:21"),
    ],
)
def test_errors_never_echo_a_secret(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        BalancerSettings.from_env({**UPSTREAMS, name: value})
    assert str(error.value).startswith(name)
    assert "s3cret" not in str(error.value) and "hunter2" not in str(error.value)


@pytest.mark.parametrize(
    "argv",
    [[sys.executable, "-m", "balancer"], [sys.executable, "-m", "loadtest.cli", "balancer"]],
    ids=["python -m balancer", "sessionlab balancer"],
)
@pytest.mark.parametrize("env", [{}, {**UPSTREAMS, "BALANCER_ROUTING": "fastest"}], ids=["missing", "invalid"])
def test_bad_settings_stop_the_process_with_one_line_and_status_2(argv: list[str], env: dict[str, str]) -> None:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("BALANCER_")}
    result = subprocess.run(argv, env={**clean, **env}, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sessionlab balancer: configuration error: BALANCER_"), result.stderr
    assert "Traceback" not in result.stderr
