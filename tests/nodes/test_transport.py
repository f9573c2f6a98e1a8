"""The README's promises about how a session reference travels, on every store: X-Session-Token only to the clients
that sent it, never a cookie to them; `Secure` on the cookie with SESSION_COOKIE_SECURE=1; and a malformed
reference logged by its length only, never its value."""

from __future__ import annotations

import logging

import pytest

from nodes.contract.names import SESSION_COOKIE, STORES, TOKEN_HEADER
from tests.nodes.calls import app_login, login

# A malformed reference that is easy to spot in a log line: 41 characters, not a session id of any store.
MARKER = "not-a-session-id-PLANTED-in-the-log-check"


@pytest.fixture(params=STORES)
def store(request) -> str:  # type: ignore[no-untyped-def]
    return str(request.param)


@pytest.fixture
async def store_node(store, start_node, redis_url):  # type: ignore[no-untyped-def]
    """Starts a node of the store under test, with extra env settings."""

    async def start(**env: str) -> str:
        return await start_node(store, REDIS_URL=redis_url, **env)

    return start


async def test_a_browser_gets_a_cookie_and_never_the_token_header(store_node, client):  # type: ignore[no-untyped-def]
    node = await store_node()
    browser = client()
    answers = [await login(browser, node), await browser.post(f"{node}/counter"), await browser.post(f"{node}/logout")]
    assert [answer.status for answer in answers] == [200, 200, 200]
    for answer in answers:
        assert TOKEN_HEADER not in answer.headers, answer.url
    assert SESSION_COOKIE in answers[0].cookies


async def test_an_app_client_gets_the_token_header_and_never_a_cookie(store_node, client):  # type: ignore[no-untyped-def]
    node = await store_node()
    app = client(cookies=False)
    token = await app_login(app, node)
    counted = await app.post(f"{node}/counter", headers={TOKEN_HEADER: token})
    ended = await app.post(f"{node}/logout", headers={TOKEN_HEADER: counted.headers.get(TOKEN_HEADER, token)})
    assert token and [counted.status, ended.status] == [200, 200]
    for answer in (counted, ended):
        assert "Set-Cookie" not in answer.headers, answer.url
    assert ended.headers[TOKEN_HEADER] == ""  # told to forget it, in the header it uses


@pytest.mark.parametrize("secure", ["1", "0"])
async def test_session_cookie_secure_adds_secure_to_the_cookie(store_node, client, secure):  # type: ignore[no-untyped-def]
    node = await store_node(SESSION_COOKIE_SECURE=secure)
    browser = client()
    issued = (await login(browser, node)).cookies[SESSION_COOKIE]
    browser.cookie_jar.update_cookies({SESSION_COOKIE: issued.value})  # the jar would not send a Secure one over http
    cleared = (await browser.post(f"{node}/logout")).cookies[SESSION_COOKIE]
    assert (bool(issued["secure"]), bool(cleared["secure"])) == (secure == "1", secure == "1")
    assert cleared.value == ""  # the logout did find the session: it clears the same (Secure) cookie


@pytest.mark.parametrize("carrier", ["cookie", "header"])
async def test_a_malformed_reference_is_logged_by_its_length_only(store, store_node, client, caplog, carrier):  # type: ignore[no-untyped-def]
    node = await store_node()
    headers = {"Cookie": f"{SESSION_COOKIE}={MARKER}"} if carrier == "cookie" else {TOKEN_HEADER: MARKER}
    with caplog.at_level(logging.DEBUG):
        response = await client(cookies=False).get(f"{node}/me", headers=headers)
    assert response.status == 401
    assert not [record for record in caplog.records if MARKER in record.getMessage()]
    if store != "cookie":  # the server-side stores say what they ignored, by its length (cookie: no session ids)
        assert [r for r in caplog.records if f"({len(MARKER)} characters)" in r.getMessage()]
