"""SESSION_COOKIE_DENYLIST=redis: a logout revokes a cookie session on every node, at the first request after it.

Real cookie nodes sharing a key and a real redis-server; the copied cookie is what a second tab, a proxy log or an
attacker would still hold after the user logged out."""

from __future__ import annotations

import pytest

from loadtest.lab.processes import free_port
from tests.nodes.calls import cookie_of, login, me
from tests.nodes.test_session_stats import stats


def holding(client, value: str):  # type: ignore[no-untyped-def]
    """A client that sends this cookie value and keeps nothing."""
    return client(cookies=False, headers={"Cookie": f"SL_SESSION={value}"})


@pytest.mark.parametrize("denylist", ["redis", ""])
async def test_a_logout_revokes_every_copy_on_every_node_only_with_a_denylist(start_node, client, redis_url, denylist):  # type: ignore[no-untyped-def]
    env = {"REDIS_URL": redis_url, "SESSION_COOKIE_DENYLIST": denylist}
    first, second = await start_node("cookie", **env), await start_node("cookie", **env)
    browser = client()
    await login(browser, first)
    copy = holding(client, cookie_of(browser))
    assert (await me(copy, second))[0] == 200
    assert (await browser.post(f"{first}/logout")).status == 200
    status = (await me(copy, second))[0]
    if denylist:
        assert status == 401  # refused by the other node on the first probe
        assert (await stats(copy, second))["denylist_hits"] == 1
    else:
        assert status == 200  # without one, the copy lives on until it expires: what the deny-list is for


async def test_logout_all_revokes_the_users_other_clients(start_node, client, redis_url):  # type: ignore[no-untyped-def]
    env = {"REDIS_URL": redis_url, "SESSION_COOKIE_DENYLIST": "redis"}
    first, second = await start_node("cookie", **env), await start_node("cookie", **env)
    laptop, phone, someone_else = client(), client(), client()
    await login(laptop, first)
    await login(phone, second)
    await login(someone_else, second, user="bob")
    answer = await (await laptop.post(f"{first}/logout-all")).json()
    assert answer["scope"] == "all"
    assert (await me(phone, second))[0] == 401
    assert (await me(someone_else, first))[0] == 200  # other users are untouched
    await login(phone, first)  # and the user can log in again at once
    assert (await me(phone, second))[0] == 200


async def test_a_denylist_that_cannot_be_checked_is_a_503_not_a_500(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("cookie", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", SESSION_COOKIE_DENYLIST="redis")
    browser = client()
    await login(browser, node)  # issuing a cookie needs no Redis
    response = await browser.get(f"{node}/me")
    assert response.status == 503
    assert (await response.json())["error"] == "session store unavailable"
