"""The encrypted-cookie store: key rotation, the 4 KB limit, tampering, expiry."""

from __future__ import annotations

import json
import logging
import time

from cryptography.fernet import Fernet

from tests.nodes.calls import cookie_of, login, me


async def test_rotation_reads_old_key_cookies_and_rewrites_them_with_the_new_key(start_node, client):  # type: ignore[no-untyped-def]
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = await start_node("cookie", SESSION_SECRET=old_key)
    after = await start_node("cookie", SESSION_SECRET=f"{new_key},{old_key}")
    browser = client()
    await login(browser, before)
    assert (await me(browser, after))[0] == 200  # read with the older key
    await browser.post(f"{after}/counter")  # a write re-encrypts with the newest key
    rewritten = cookie_of(browser).encode()
    assert Fernet(new_key.encode()).decrypt(rewritten)
    assert (await me(browser, before))[0] == 401  # the old-key-only node cannot read it any more


async def test_oversized_session_is_refused_and_the_previous_one_kept(start_node, client, caplog):  # type: ignore[no-untyped-def]
    node = await start_node("cookie")
    browser = client()
    await login(browser, node)
    status = 200
    added = 0
    with caplog.at_level(logging.WARNING, logger="nodes.session"):
        while status == 200:
            previous = cookie_of(browser)
            response = await browser.post(f"{node}/cart/items", json={"sku": f"sku-{added:04d}-" + "x" * 40, "qty": 1})
            status = response.status
            added += 1
    assert status == 413
    body = await response.json()
    assert body["error"] == "session too large for a cookie"
    assert body["cookie_bytes"] > body["limit_bytes"] == 4096
    assert "Set-Cookie" not in response.headers
    assert cookie_of(browser) == previous
    assert len(previous) + len("SL_SESSION=") < 4096
    cart = (await (await browser.get(f"{node}/cart")).json())["cart"]
    assert len(cart) == added - 1  # everything before the refused write is intact
    refusals = [r for r in caplog.records if "refused to save a session" in r.getMessage()]
    assert len(refusals) == 1


async def test_tampered_cookie_is_a_new_session_not_an_error(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("cookie")
    browser = client()
    await login(browser, node)
    value = cookie_of(browser)
    flipped = value[:40] + ("A" if value[40] != "A" else "B") + value[41:]
    attacker = client(cookies=False)
    for forged in (flipped, value[:-10], value[:60], "gAAAAA"):
        assert (await me(attacker, node, headers={"Cookie": f"SL_SESSION={forged}"}))[0] == 401


def forged_cookie(secret: str, age: int) -> str:
    """A cookie made with the node's key `age` seconds ago, as a browser idle that long would hold."""
    payload = json.dumps({"created": int(time.time()) - age, "session": {"user": "ann", "counter": 7, "cart": []}})
    return Fernet(secret.encode()).encrypt_at_time(payload.encode(), int(time.time()) - age).decode()


async def test_a_cookie_idle_past_the_timeout_is_refused(start_node, client, secret):  # type: ignore[no-untyped-def]
    node = await start_node("cookie", SESSION_MAX_AGE="600")
    browser = client(cookies=False)
    assert (await me(browser, node, headers={"Cookie": f"SL_SESSION={forged_cookie(secret, 601)}"}))[0] == 401


async def test_activity_slides_the_cookie_timeout(start_node, client, secret):  # type: ignore[no-untyped-def]
    node = await start_node("cookie", SESSION_MAX_AGE="600")
    browser = client(cookies=False)
    response = await browser.get(f"{node}/me", headers={"Cookie": f"SL_SESSION={forged_cookie(secret, 500)}"})
    assert (await response.json())["counter"] == 7
    refreshed = response.cookies["SL_SESSION"].value  # re-issued with a fresh timestamp
    assert int(time.time()) - Fernet(secret.encode()).extract_timestamp(refreshed.encode()) < 5
    fresh = await browser.get(f"{node}/me", headers={"Cookie": f"SL_SESSION={forged_cookie(secret, 0)}"})
    assert "Set-Cookie" not in fresh.headers  # a recent cookie is not re-encrypted on every read
