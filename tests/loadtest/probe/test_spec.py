"""The probe's flag values: what each accepts, what a rule matches, when a threshold is crossed (pure, no I/O)."""

from __future__ import annotations

import pytest

from loadtest.probe.spec import BackendId, Endpoint, Event, Rule, Threshold, parse_seconds


@pytest.mark.parametrize(("text", "seconds"), [("20", 20), ("20s", 20), ("1.5s", 1.5), ("2m", 120), ("1m30s", 90)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "m", "20h", "-3s", "soon"])
def test_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_seconds(text)


def test_rules_match_a_status_or_a_redirect_on_the_target_host() -> None:
    assert Rule.parse("status:401", "--missed").matches(401, None)
    assert not Rule.parse("status:401", "--missed").matches(403, None)
    redirect = Rule.parse("redirect:/login", "--missed")
    assert redirect.matches(302, "/login") and redirect.matches(303, "/login/sso")
    assert not redirect.matches(302, None)  # a Location off the target host is never a path of it
    assert not redirect.matches(200, "/login")


def test_thresholds_and_their_operators() -> None:
    assert Threshold.parse("miss_rate>0.01").crossed(0.02)
    assert not Threshold.parse("miss_rate>0.01").crossed(0.01)
    assert Threshold.parse("p99_ms >= 250").crossed(250)
    assert not Threshold.parse("p99_ms>250").crossed(None)  # nothing measured crosses nothing
    assert str(Threshold.parse("error_rate<=0.5")) == "error_rate<=0.5"


def test_backend_ids_events_and_endpoints() -> None:
    assert BackendId.parse("cookie:SERVERID") == BackendId("cookie", "SERVERID")
    assert BackendId.parse("none") == BackendId("none")
    assert Event.parse("30s: kubectl rollout restart deploy/web") == Event(30, "kubectl rollout restart deploy/web")
    assert Endpoint.parse("post /probe/login", "--login") == Endpoint("POST", "/probe/login")
    with pytest.raises(ValueError, match="expected 'METHOD /path'"):
        Endpoint.parse("FETCH /x", "--check")
