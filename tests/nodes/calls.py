"""The API calls the node tests make, with the assertions every caller wants, and what a client holds."""

from __future__ import annotations

import aiohttp

from nodes.contract.names import SESSION_COOKIE, TOKEN_HEADER
from nodes.transport import Transport

APP_CLIENT = {TOKEN_HEADER: "new"}  # the header an app client sends before it holds a token


async def login(client: aiohttp.ClientSession, url: str, user: str = "ann", **kwargs: object) -> aiohttp.ClientResponse:
    response = await client.post(f"{url}/login", json={"user": user}, **kwargs)  # type: ignore[arg-type]
    assert response.status == 200, await response.text()
    return response


async def app_login(client: aiohttp.ClientSession, url: str, user: str = "ann") -> str:
    """Log an app client in; returns its token."""
    return (await login(client, url, user, headers=APP_CLIENT)).headers[TOKEN_HEADER]


async def me(client: aiohttp.ClientSession, url: str, **kwargs: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = await client.get(f"{url}/me", **kwargs)  # type: ignore[arg-type]
    return response.status, await response.json()


def cookie_of(browser: aiohttp.ClientSession) -> str:
    """The session cookie a browser holds."""
    return next(cookie.value for cookie in browser.cookie_jar if cookie.key == SESSION_COOKIE)


def test_transport() -> Transport:
    return Transport(SESSION_COOKIE, TOKEN_HEADER, False)


test_transport.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test
