"""The API contract, identical on every store: what a browser and an app client see."""

from __future__ import annotations

import pytest

from nodes.contract.names import STORES
from tests.nodes.calls import login, me


@pytest.fixture(params=STORES)
async def node(request, start_node, redis_url):  # type: ignore[no-untyped-def]
    return await start_node(request.param, REDIS_URL=redis_url)


async def test_login_then_me_finds_the_session(node, client):  # type: ignore[no-untyped-def]
    browser = client()
    response = await login(browser, node)
    assert await response.json() == {"node": "node-1", "user": "ann", "session": "new"}
    assert response.headers["X-Node-Id"] == "node-1"
    cookie = response.headers["Set-Cookie"]
    assert "SL_SESSION=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert await me(browser, node) == (200, {"node": "node-1", "user": "ann", "counter": 0, "session": "found"})


async def test_me_without_session_is_401_and_creates_nothing(node, client):  # type: ignore[no-untyped-def]
    browser = client()
    response = await browser.get(f"{node}/me")
    assert response.status == 401
    assert await response.json() == {"node": "node-1", "session": "missing"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Node-Id"] == "node-1"


async def test_counter_increments_and_needs_a_session(node, client):  # type: ignore[no-untyped-def]
    browser = client()
    assert (await browser.post(f"{node}/counter")).status == 401
    await login(browser, node)
    for expected in (1, 2, 3):
        response = await browser.post(f"{node}/counter")
        assert await response.json() == {"node": "node-1", "user": "ann", "counter": expected}
    assert (await me(browser, node))[1]["counter"] == 3


async def test_cart_keeps_items_and_merges_skus(node, client):  # type: ignore[no-untyped-def]
    browser = client()
    await login(browser, node)
    await browser.post(f"{node}/cart/items", json={"sku": "tea", "qty": 2})
    await browser.post(f"{node}/cart/items", json={"sku": "cup", "qty": 1})
    response = await browser.post(f"{node}/cart/items", json={"sku": "tea", "qty": 3})
    assert (await response.json())["cart"] == [{"sku": "tea", "qty": 5}, {"sku": "cup", "qty": 1}]
    response = await browser.get(f"{node}/cart")
    assert (await response.json())["cart"] == [{"sku": "tea", "qty": 5}, {"sku": "cup", "qty": 1}]
    assert (await browser.delete(f"{node}/cart")).status == 200
    assert (await (await browser.get(f"{node}/cart")).json())["cart"] == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/login", {"user": ""}),
        ("/login", {"name": "ann"}),
        ("/login", ["ann"]),
        ("/login", {"user": "x" * 65}),
        ("/cart/items", {"sku": "tea", "qty": 0}),
        ("/cart/items", {"sku": "tea", "qty": True}),
        ("/cart/items", {"sku": "tea", "qty": "2"}),
        ("/cart/items", {"sku": 5, "qty": 1}),
        ("/cart/items", {"qty": 1}),
    ],
)
async def test_invalid_bodies_are_400_with_a_reason(node, client, path, body):  # type: ignore[no-untyped-def]
    browser = client()
    await login(browser, node)
    response = await browser.post(f"{node}{path}", json=body)
    assert response.status == 400
    assert (await response.json())["error"]
    assert (await me(browser, node))[1]["user"] == "ann"  # the session survived the bad request


async def test_non_json_body_is_400(node, client):  # type: ignore[no-untyped-def]
    browser = client()
    response = await browser.post(f"{node}/login", data=b"\xff\xfe not json")
    assert response.status == 400
    assert (await response.json()) == {"error": "the body must be a JSON object"}


async def test_logout_ends_the_session_and_clears_the_cookie(node, client):  # type: ignore[no-untyped-def]
    browser = client()
    await login(browser, node)
    response = await browser.post(f"{node}/logout")
    assert await response.json() == {"node": "node-1", "session": "ended"}
    assert 'SL_SESSION=""' in response.headers["Set-Cookie"]
    assert (await me(browser, node))[0] == 401


async def test_header_token_works_without_cookies(node, client):  # type: ignore[no-untyped-def]
    app = client(cookies=False)
    response = await login(app, node, headers={"X-Session-Token": "new"})
    assert "Set-Cookie" not in response.headers
    token = response.headers["X-Session-Token"]
    assert token
    status, body = await me(app, node, headers={"X-Session-Token": token})
    assert (status, body["user"]) == (200, "ann")
    counted = await app.post(f"{node}/counter", headers={"X-Session-Token": token})
    assert "Set-Cookie" not in counted.headers
    token = counted.headers.get("X-Session-Token", token)  # the cookie store re-issues its token on writes
    assert (await me(app, node, headers={"X-Session-Token": token}))[1]["counter"] == 1
    assert (await me(app, node))[0] == 401  # nothing identifies it without the header


async def test_every_error_names_the_node(node, client):  # type: ignore[no-untyped-def]
    browser = client()
    answers = (await browser.get(f"{node}/nowhere"), await browser.put(f"{node}/me"))
    assert [response.status for response in answers] == [404, 405]  # no such path; /me is only GET
    for response in answers:
        assert response.headers["X-Node-Id"] == "node-1"
        assert "error" in await response.json()


@pytest.mark.parametrize("value", ["garbage", "x" * 22, "gAAAAAB" + "A" * 100, "%00%7F\\u00e9", "a" * 3000])
async def test_tampered_or_garbage_reference_is_no_session(node, client, value):  # type: ignore[no-untyped-def]
    browser = client()
    assert (await me(browser, node, headers={"Cookie": f"SL_SESSION={value}"}))[0] == 401
    assert (await me(browser, node, headers={"X-Session-Token": value}))[0] == 401
    response = await browser.post(f"{node}/login", json={"user": "eve"}, headers={"Cookie": f"SL_SESSION={value}"})
    assert response.status == 200
    assert (await me(browser, node))[1]["user"] == "eve"


async def test_health_and_readiness(node, client):  # type: ignore[no-untyped-def]
    browser = client()
    assert (await browser.get(f"{node}/healthz")).status == 200
    response = await browser.get(f"{node}/readyz")
    assert response.status == 200
    assert (await response.json())["ready"] is True
