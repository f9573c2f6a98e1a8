"""SESSION_PAD_KB: every session carries the filler from login on; a cookie session over 4 KB is a clear 413."""

from __future__ import annotations

import pytest

from nodes.contract.names import COOKIE_TOO_LARGE_ERROR, SESSION_COOKIE
from tests.nodes.calls import cookie_of, login, me
from tests.nodes.test_session_stats import stats


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_a_padded_session_is_written_and_read_whole(start_node, client, redis_url, store):  # type: ignore[no-untyped-def]
    node = await start_node(store, REDIS_URL=redis_url, SESSION_PAD_KB="16")
    browser = client()
    await login(browser, node)
    assert (await me(browser, node))[0] == 200
    counts = await stats(browser, node)
    assert counts["store_writes"] == counts["store_reads"] == 1
    assert 16 * 1024 < counts["store_bytes_written"] < 16 * 1024 + 200
    assert counts["store_bytes_read"] == counts["store_bytes_written"]


async def test_a_cookie_session_carries_its_pad_in_every_request(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("cookie", SESSION_PAD_KB="2")
    browser = client()
    await login(browser, node)
    assert 4 / 3 * 2048 < len(cookie_of(browser)) < 4096
    assert (await me(browser, node))[0] == 200
    assert (await stats(browser, node))["store_bytes_read"] == len(cookie_of(browser))


@pytest.mark.parametrize("pad_kb", ["2.82", "4", "64"])
async def test_a_cookie_session_over_the_limit_is_a_413_never_a_drop_or_a_500(start_node, client, pad_kb):  # type: ignore[no-untyped-def]
    node = await start_node("cookie", SESSION_PAD_KB=pad_kb)
    browser = client()
    response = await browser.post(f"{node}/login", json={"user": "ann"})
    assert response.status == 413
    body = await response.json()
    assert body["error"] == COOKIE_TOO_LARGE_ERROR
    assert body["cookie_bytes"] > body["limit_bytes"] == 4096
    assert "Set-Cookie" not in response.headers  # nothing the browser would drop silently
    assert not any(cookie.key == SESSION_COOKIE for cookie in browser.cookie_jar)
    assert (await me(browser, node))[0] == 401  # no session, and no error either
    counts = await stats(browser, node)
    assert (counts["cookie_too_large"], counts["store_writes"]) == (1, 0)


async def test_the_largest_pad_a_cookie_takes_is_2_81_kb(start_node, client):  # type: ignore[no-untyped-def]
    """The figure the docs give: 4,096 bytes of encrypted cookie hold about 2.9 KB of session JSON."""
    node = await start_node("cookie", SESSION_PAD_KB="2.81")
    browser = client()
    await login(browser, node)
    assert (await me(browser, node))[0] == 200
