"""Route-tagged references (SESSION_ROUTE_TAG, Tomcat's jvmRoute): `<reference>.<node id>`, on every store."""

from __future__ import annotations

import pytest

from nodes.contract.envconfig import SettingsError
from nodes.contract.names import ROUTE_SEPARATOR, STORES, TOKEN_HEADER
from nodes.settings import NodeSettings
from nodes.stores.ids import SESSION_ID_PATTERN
from nodes.transport import Transport
from tests.nodes.calls import app_login, cookie_of, login, me, test_transport

TAGGED = {"SESSION_ROUTE_TAG": "1"}
MADE_UP = "B" * 22


@pytest.fixture(params=STORES)
def store(request) -> str:  # type: ignore[no-untyped-def]
    return str(request.param)


@pytest.fixture
async def tagged_node(start_node, store, redis_url) -> str:  # type: ignore[no-untyped-def]
    return str(await start_node(store, REDIS_URL=redis_url, **TAGGED))  # node-1


def split(value: str) -> tuple[str, str]:
    reference, separator, route = value.partition(ROUTE_SEPARATOR)
    assert separator, f"{value[:30]}... carries no route tag"
    return reference, route


def with_route(value: str, route: str) -> str:
    return split(value)[0] + ROUTE_SEPARATOR + route


async def test_a_browser_gets_a_tagged_cookie(tagged_node, store, client) -> None:  # type: ignore[no-untyped-def]
    browser = client()
    await login(browser, tagged_node)
    reference, route = split(cookie_of(browser))
    assert route == "node-1"
    assert store == "cookie" or SESSION_ID_PATTERN.fullmatch(reference)
    assert (await me(browser, tagged_node))[0] == 200
    assert (await browser.post(f"{tagged_node}/counter")).status == 200
    assert split(cookie_of(browser))[1] == "node-1"


async def test_an_app_client_gets_a_tagged_token(tagged_node, client) -> None:  # type: ignore[no-untyped-def]
    app = client(cookies=False)
    token = await app_login(app, tagged_node)
    assert split(token)[1] == "node-1"
    counted = await app.post(f"{tagged_node}/counter", headers={TOKEN_HEADER: token})
    assert (await counted.json())["counter"] == 1
    assert split(counted.headers[TOKEN_HEADER])[1] == "node-1"
    assert (await me(app, tagged_node, headers={TOKEN_HEADER: counted.headers[TOKEN_HEADER]}))[1]["counter"] == 1


async def test_another_nodes_tag_is_accepted_and_reissued_on_a_read(tagged_node, client) -> None:  # type: ignore[no-untyped-def]
    browser, app = client(), client(cookies=False)
    await login(browser, tagged_node)
    foreign = with_route(cookie_of(browser), "node-9")
    response = await app.get(f"{tagged_node}/me", headers={"Cookie": f"SL_SESSION={foreign}"})
    assert response.status == 200
    assert response.cookies["SL_SESSION"].value == with_route(foreign, "node-1")
    token = with_route(await app_login(app, tagged_node), "node-9")
    response = await app.get(f"{tagged_node}/me", headers={TOKEN_HEADER: token})
    assert (response.status, response.headers[TOKEN_HEADER]) == (200, with_route(token, "node-1"))


async def test_an_untagged_reference_is_accepted_and_tagged_on_a_write(tagged_node, store, client) -> None:  # type: ignore[no-untyped-def]
    browser, app = client(), client(cookies=False)
    await login(browser, tagged_node)
    bare = split(cookie_of(browser))[0]  # as issued before SESSION_ROUTE_TAG was turned on
    response = await app.post(f"{tagged_node}/counter", headers={"Cookie": f"SL_SESSION={bare}"})
    assert response.status == 200
    reference, route = split(response.cookies["SL_SESSION"].value)
    assert route == "node-1"
    assert store == "cookie" or reference == bare  # the cookie store re-encrypts on a write


async def test_a_read_with_this_nodes_tag_sends_nothing(tagged_node, client) -> None:  # type: ignore[no-untyped-def]
    browser = client()
    await login(browser, tagged_node)
    response = await browser.get(f"{tagged_node}/me")
    assert response.status == 200
    assert "Set-Cookie" not in response.headers


async def test_a_forged_tag_on_a_made_up_reference_is_no_session(tagged_node, client) -> None:  # type: ignore[no-untyped-def]
    app = client(cookies=False)
    for forged in (f"{MADE_UP}.node-1", f"gAAAAA{MADE_UP}.node-1", ".node-1", "node-1."):
        assert (await me(app, tagged_node, headers={"Cookie": f"SL_SESSION={forged}"}))[0] == 401
        assert (await me(app, tagged_node, headers={TOKEN_HEADER: forged}))[0] == 401
    browser = client()
    await login(browser, tagged_node, headers={"Cookie": f"SL_SESSION={MADE_UP}.node-1"})
    assert split(cookie_of(browser))[0] != MADE_UP


async def test_a_shared_session_moves_to_the_node_that_serves_it(start_node, client, redis_url) -> None:  # type: ignore[no-untyped-def]
    first = await start_node("redis", REDIS_URL=redis_url, **TAGGED)
    second = await start_node("redis", REDIS_URL=redis_url, **TAGGED)
    browser = client()
    await login(browser, first)
    assert split(cookie_of(browser))[1] == "node-1"
    assert (await me(browser, second))[0] == 200
    assert split(cookie_of(browser))[1] == "node-2"
    assert (await me(browser, first))[0] == 200  # still accepted: the tag is for routing only


async def test_untagged_nodes_send_bare_references(start_node, client) -> None:  # type: ignore[no-untyped-def]
    node = await start_node("memory")
    browser = client()
    await login(browser, node)
    assert ROUTE_SEPARATOR not in cookie_of(browser)


@pytest.mark.parametrize("node_id", ["node.1", "node 1", "nöde", "node/1", "{hostname}.example"])
def test_tagging_needs_a_cookie_safe_node_id(node_id: str) -> None:
    with pytest.raises(SettingsError) as caught:
        NodeSettings.from_env({**TAGGED, "NODE_ID": node_id})
    assert str(caught.value).startswith("NODE_ID=")
    assert "SESSION_ROUTE_TAG" in str(caught.value) and "\n" not in str(caught.value)
    assert NodeSettings.from_env({"NODE_ID": node_id.replace("{hostname}", "h")}).route_tag is False


def test_tagging_is_off_by_default_and_counts_in_the_cookie_size() -> None:
    assert NodeSettings.from_env({}).route_tag is False
    assert NodeSettings.from_env({**TAGGED, "NODE_ID": "node_A-1"}).route_tag is True
    bare = test_transport()
    tagged = Transport(bare.cookie_name, bare.header_name, bare.secure, route="node-1")
    assert tagged.cookie_overhead() == bare.cookie_overhead() + len(".node-1")
