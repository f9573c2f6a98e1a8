"""The session-life theory (theory/session_life.py): each measure's bounds follow from the knobs, and say so."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from loadtest.compare.spec import SessionKnobs
from loadtest.compare.theory import session_life as S

SCALE = 0.05  # the check: --time-scale 0.05


def knobs(**given: object) -> SessionKnobs:
    return SessionKnobs(**{"time_scale": SCALE, **given})  # type: ignore[arg-type]


def test_a_gap_longer_than_the_ttl_expires_every_session_and_a_short_one_none_when_every_request_touches() -> None:
    long_gap = S.expired_after_idle(knobs(idle_gap=60, session_ttl=30), "redis", gaps=40)
    assert (long_gap.low, long_gap.high) == (40, 40) and long_gap.agrees(40) and not long_gap.agrees(39)
    touched = S.expired_after_idle(knobs(idle_gap=30, session_ttl=300, touch="always"), "redis", gaps=40)
    assert (touched.low, touched.high) == (0, 0) and "every request refreshes it" in touched.text
    on_change = S.expired_after_idle(knobs(idle_gap=30, session_ttl=300, touch="on-change"), "redis", gaps=40)
    assert (on_change.low, on_change.high) == (0, 40)  # only a write refreshes it: bounded by the gaps taken
    close = S.expired_after_idle(knobs(idle_gap=30, session_ttl=30, touch="always"), "redis", gaps=40)
    assert not close.judged and close.agrees(7) is None and close.text.startswith("not modelled: ")


def test_a_lazy_touch_counts_its_interval_against_the_ttl() -> None:
    safe = S.expired_after_idle(knobs(idle_gap=20, session_ttl=100, touch="lazy:20"), "memory", gaps=10)
    assert (safe.low, safe.high) == (0, 0) and "at most 1 s before" in safe.text  # 1 s gap + 1 s + 0.5 s < 5 s
    assert S.refresh_age_s(knobs(touch="lazy:20"), "redis") == 1.0
    assert S.refresh_age_s(knobs(save="always"), "cookie") == 0.0 and S.refresh_age_s(knobs(), "redis") == 0.0
    assert S.refresh_age_s(SessionKnobs(session_ttl=300), "cookie") == 30.0  # re-issued once a tenth old
    assert S.refresh_age_s(knobs(touch="on-change"), "redis") is None


def test_active_users_never_expire_when_every_request_touches_and_routing_misses_go_to_the_miss_rate() -> None:
    touched = S.expired_while_active(knobs(session_ttl=40, touch="always"), "redis", routing_misses_expected=0.0)
    assert (touched.low, touched.high) == (0, 0)
    assert not S.expired_while_active(knobs(session_ttl=40, touch="always"), "memory", 120.0).judged
    assert not S.expired_while_active(SessionKnobs(), "redis", 0.0).judged  # no knob: the miss rate judges


def test_a_lapsed_affinity_cookie_moves_a_share_of_sticky_browsers_and_nothing_moves_a_hashed_user() -> None:
    lapsed = S.moved_after_idle(knobs(idle_gap=60, sticky_ttl=30), "sticky", "browser", nodes=3, gaps=90)
    assert lapsed.low < 60 < lapsed.high and lapsed.agrees(60) and not lapsed.agrees(0)
    kept = S.moved_after_idle(knobs(idle_gap=20, sticky_ttl=60), "sticky", "browser", nodes=3, gaps=90)
    assert (kept.low, kept.high) == (0, 0)
    assert S.moved_after_idle(knobs(idle_gap=60), "sticky", "browser", 3, 90).high == 0  # a browser-session cookie
    assert S.moved_after_idle(knobs(idle_gap=60), "hash", "app", 3, 90).high == 0
    assert not S.moved_after_idle(knobs(idle_gap=60), "random", "browser", 3, 90).judged


def test_a_cookie_session_over_the_limit_is_refused_on_every_login_and_a_server_side_one_never() -> None:
    big = S.cookie_refused(SessionKnobs(session_kb=64), "cookie", logins=25)
    assert (big.low, big.high) == (25, 25) and "cookie: not possible above ~2.8 KB" in big.text
    assert S.cookie_refused(SessionKnobs(session_kb=1), "cookie", 25).high == 0
    assert S.cookie_refused(SessionKnobs(session_kb=64), "redis", 25).high == 0
    assert S.cookie_refused(SessionKnobs(session_kb=3), "cookie", 25).low == 25
    assert not S.cookie_refused(SessionKnobs(session_kb=2.7), "cookie", 25).judged  # the other fields decide


@pytest.mark.parametrize("plain", [0, 1, 15, 16, 17, 100, 2_975, 2_976, 3_000])
def test_the_cookie_size_theory_is_fernet_s_own_length(plain: int) -> None:
    """The bound comes from arithmetic on Fernet's format: checked against the real encoder, byte for byte."""
    token = Fernet(Fernet.generate_key()).encrypt(b"x" * plain)
    assert S.cookie_bytes(plain, overhead=0) == len(token)


def test_the_nodes_measured_limit_lies_between_the_bounds() -> None:
    """nodes' own test: a login with SESSION_PAD_KB=2.81 gets its cookie, 2.82 gets a 413."""
    assert S.FITS_KB <= 2.81 < 2.82 <= S.REFUSED_KB


def test_a_lazy_touch_writes_at_most_once_per_interval_and_save_always_once_per_request() -> None:
    lazy = S.lazy_touches(knobs(touch="lazy:40"), "redis", sessions=10, elapsed_s=12.0)  # every 2 s: at most 7 each
    assert lazy.high == 70 and lazy.agrees(70) and not lazy.agrees(71)
    always = S.store_writes_per_request(SessionKnobs(save="always"), "redis", write_share=0.4, logins_share=0.05)
    assert always.agrees(1.0) and not always.agrees(0.45)
    assert S.store_writes_per_request(SessionKnobs(), "redis", 0.4, 0.05).agrees(1.0)  # reads slide by default
    on_change = S.store_writes_per_request(SessionKnobs(touch="on-change"), "redis", write_share=0.4, logins_share=0.05)
    assert on_change.agrees(0.5) and not on_change.agrees(1.0)
    assert not S.lazy_touches(SessionKnobs(), "redis", 10, 12.0).judged
    assert S.lazy_touches(SessionKnobs(), "cookie", 10, 12.0).judged  # the cookie store's default is lazy


def test_noeviction_loses_nothing_and_refuses_logins_and_lru_evicts_and_refuses_none() -> None:
    assert S.evicted("noeviction", "redis").high == 0 and S.logins_refused("noeviction", "redis").low == 1
    assert S.evicted("allkeys-lru", "redis").low == 1 and S.logins_refused("allkeys-lru", "redis").high == 0
    assert S.evicted("allkeys-lru", "memory").high == 0  # keeps nothing in Redis


def test_migrate_forces_no_relogin_and_reject_one_per_user_at_least() -> None:
    migrate = S.forced_relogins("migrate", "redis", users=20)
    assert (migrate.low, migrate.high) == (0, 0)
    reject = S.forced_relogins("reject", "cookie", users=20)
    assert (reject.low, reject.high) == (20, 20) and not reject.agrees(19) and not reject.agrees(21)
    assert not S.forced_relogins("reject", "memory", 20).judged
    assert S.schema_unreadable(10).agrees(10) and not S.schema_unreadable(10).agrees(9)


def test_revocation_on_redis_is_immediate_and_a_cookie_without_a_deny_list_is_not_revocable() -> None:
    assert S.revocation("redis", denylist=False).agrees(0) and not S.revocation("redis", denylist=False).agrees(1)
    assert not S.revocation("cookie", denylist=False).judged
    assert S.revocation("cookie", denylist=True).high == 0
