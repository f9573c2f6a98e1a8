"""The one environment scrubber: what a child node or balancer inherits, and what it never does."""

from __future__ import annotations

import pytest

from loadtest.lab.launcher import child_env


def test_no_service_setting_of_the_callers_shell_reaches_a_child(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "REDIS_TIMEOUT", "SESSION_STORE", "NODE_PORT", "BALANCER_ROUTING"):
        monkeypatch.setenv(name, "leftover")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = child_env(SESSION_STORE="memory")
    assert env["SESSION_STORE"] == "memory" and env["LANG"] == "C.UTF-8" and env["PYTHONUNBUFFERED"] == "1"
    assert not {"REDIS_URL", "REDIS_TIMEOUT", "NODE_PORT", "BALANCER_ROUTING"} & set(env)


def test_explicit_overrides_pass_and_an_empty_setting_means_the_default() -> None:
    env = child_env({"REDIS_TIMEOUT": "0.3", "SESSION_CONSISTENCY": "cas"}, SESSION_CONSISTENCY="", REDIS_URL="")
    assert env["REDIS_TIMEOUT"] == "0.3" and env["SESSION_CONSISTENCY"] == "cas" and "REDIS_URL" not in env
