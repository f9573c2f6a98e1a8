"""The API calls the node tests make, with the assertions every caller wants."""

from __future__ import annotations

import aiohttp


async def login(client: aiohttp.ClientSession, url: str, user: str = "ann", **kwargs: object) -> aiohttp.ClientResponse:
    response = await client.post(f"{url}/login", json={"user": user}, **kwargs)  # type: ignore[arg-type]
    assert response.status == 200, await response.text()
    return response


async def me(client: aiohttp.ClientSession, url: str, **kwargs: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = await client.get(f"{url}/me", **kwargs)  # type: ignore[arg-type]
    return response.status, await response.json()
