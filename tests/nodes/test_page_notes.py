"""The node page when the browser sends a session this node does not have: it says so, with the store and routing,
and whether this choice makes it expected; a browser gets an HTML 503 page when the session store is down."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from loadtest.lab.processes import free_port
from nodes.app import create_app
from nodes.contract.names import NODE_ID_HEADER, SESSION_COOKIE
from nodes.settings import NodeSettings
from nodes.stores.ids import new_session_id
from tests.nodes.test_page import BROWSER, post_form, session_cookie


async def two_nodes(aiohttp_client, secret: str, store: str, routing: str, redis_url: str) -> list[TestClient]:  # type: ignore[no-untyped-def]
    """node-1 and node-2 with one store and NODE_ROUTING, as a cluster starts them."""
    clients = []
    for name in ("node-1", "node-2"):
        env = {"NODE_ID": name, "SESSION_STORE": store, "SESSION_SECRET": secret, "REDIS_URL": redis_url,
               "NODE_ROUTING": routing}  # fmt: skip
        clients.append(await aiohttp_client(create_app(NodeSettings.from_env(env))))
    return clients


def note(html: str) -> tuple[str, str] | None:
    """(data-expected, text) of the page's missing-session note, or None."""
    match = re.search(r'<p id="missing-note"[^>]*data-expected="(\w+)">\s*(.*?)</p>', html, flags=re.DOTALL)
    return None if match is None else (match.group(1), " ".join(match.group(2).split()))


async def page_on(other: TestClient, cookie: str) -> str:
    response = await other.get("/", headers={**BROWSER, "Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert response.status == 200
    return await response.text()


@pytest.mark.parametrize(
    ("store", "routing", "expected", "says"),
    [
        ("memory", "random", "yes", "(memory + random: expected here: each node keeps only the sessions it created"),
        ("memory", "hash", "yes", "(memory + hash: expected right after a login"),
        ("memory", "sticky", "no", "(memory + sticky: not expected with this routing"),
        ("redis", "random", "no", "(redis + random: not expected: every node reads the same Redis"),
    ],
)
async def test_a_session_this_node_does_not_have_is_named_on_the_page(  # type: ignore[no-untyped-def]
    aiohttp_client, secret, redis_url, store: str, routing: str, expected: str, says: str
) -> None:
    first, second = await two_nodes(aiohttp_client, secret, store, routing, redis_url)
    await post_form(first, "/page/login", user="ann")
    cookie = session_cookie(first)
    if store == "redis":
        await post_form(first, "/page/logout")  # the reference the browser still holds names no session now
    html = await page_on(second, cookie)
    found = note(html)
    assert found is not None, html
    assert found[0] == expected and found[1].startswith(f"Your browser sent a session node-2 does not have {says}")
    assert f'<dd id="store">{store}</dd>' in html and f'<dd id="routing">{routing}</dd>' in html


async def test_no_note_without_a_session_or_when_the_node_has_it(aiohttp_client, secret, redis_url) -> None:  # type: ignore[no-untyped-def]
    first, _ = await two_nodes(aiohttp_client, secret, "memory", "random", redis_url)
    assert note(await (await first.get("/", headers=BROWSER)).text()) is None  # a first visit sends nothing
    await post_form(first, "/page/login", user="ann")
    html = await (await first.get("/", headers=BROWSER)).text()
    assert note(html) is None and '<dd id="user">ann</dd>' in html


async def test_a_node_not_told_its_routing_says_so(aiohttp_client, secret) -> None:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(create_app(NodeSettings.from_env({"NODE_ID": "node-1", "SESSION_SECRET": secret})))
    html = await page_on(client, "made-up-reference")
    assert note(html) is not None and "(memory + unknown routing: " in note(html)[1]  # type: ignore[index]
    assert '<dd id="routing">unknown</dd>' in html


@pytest.fixture
async def store_down(aiohttp_client) -> TestClient:  # type: ignore[no-untyped-def]
    """A redis-store node whose Redis port is closed."""
    env = {"NODE_ID": "node-1", "SESSION_STORE": "redis", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
           "REDIS_TIMEOUT": "0.2"}  # fmt: skip
    return await aiohttp_client(create_app(NodeSettings.from_env(env)))  # type: ignore[no-any-return]


async def test_a_browser_gets_an_html_503_when_the_store_is_down(store_down: TestClient) -> None:
    response = await store_down.get("/", headers={**BROWSER, "Cookie": f"{SESSION_COOKIE}={new_session_id()}"})
    html = await response.text()
    assert response.status == 503 and response.content_type == "text/html"
    assert response.headers["Retry-After"] == "1" and response.headers[NODE_ID_HEADER] == "node-1"
    assert "<h1>The session store is unavailable</h1>" in html and "(redis)" in html


async def test_an_api_client_still_gets_json_when_the_store_is_down(store_down: TestClient) -> None:
    response = await store_down.get("/me", headers={"Cookie": f"{SESSION_COOKIE}={new_session_id()}"})
    assert response.status == 503 and await response.json() == {"error": "session store unavailable"}
    assert response.headers["Retry-After"] == "1" and response.headers[NODE_ID_HEADER] == "node-1"
