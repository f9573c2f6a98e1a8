"""The memory store: bounded, least recently used first out, expired entries never served, no adopted ids."""

from __future__ import annotations

from nodes.stores.memory import MemoryStore
from tests.nodes.calls import cookie_of, login, me, test_transport

MADE_UP = "B" * 22  # a well-formed id this node never issued


async def test_a_made_up_id_finds_no_session(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("memory")
    await login(client(), node)  # the store holds a real session: a made-up id must still find nothing
    browser = client(cookies=False)
    assert (await me(browser, node, headers={"Cookie": f"SL_SESSION={MADE_UP}"}))[0] == 401
    assert (await me(browser, node, headers={"X-Session-Token": MADE_UP}))[0] == 401
    assert (await browser.post(f"{node}/counter", headers={"X-Session-Token": MADE_UP})).status == 401


async def test_login_with_a_made_up_id_issues_a_fresh_one(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("memory")
    browser = client()
    await login(browser, node, headers={"Cookie": f"SL_SESSION={MADE_UP}"})
    assert cookie_of(browser) != MADE_UP
    assert (await me(client(cookies=False), node, headers={"Cookie": f"SL_SESSION={MADE_UP}"}))[0] == 401


async def test_the_bound_evicts_the_least_recently_used(start_node, client):  # type: ignore[no-untyped-def]
    node = await start_node("memory", SESSION_MEMORY_MAX="3")
    users = [client() for _ in range(4)]
    for index, browser in enumerate(users[:3]):
        await login(browser, node, user=f"user-{index}")
    assert (await me(users[0], node))[0] == 200  # user-0 is now the most recently used; user-1 the least
    await login(users[3], node, user="user-3")
    statuses = [(await me(browser, node))[0] for browser in users]
    assert statuses == [200, 401, 200, 200]


async def test_the_entry_count_never_passes_the_bound() -> None:
    store = MemoryStore(test_transport(), max_age=60, max_entries=100)
    for index in range(1000):
        await store.write(f"id-{index:018d}", b"{}")
        assert len(store) <= 100
    assert await store.read("id-000000000000000999") == b"{}"
    assert await store.read("id-000000000000000000") is None


async def test_expired_entries_are_never_served(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = [1000.0]
    monkeypatch.setattr("nodes.stores.memory.now", lambda: clock[0])
    store = MemoryStore(test_transport(), max_age=10, max_entries=100)
    await store.write("a" * 22, b"{}")
    clock[0] += 9
    assert await store.read("a" * 22) == b"{}"  # a read slides the timeout...
    clock[0] += 9
    assert await store.read("a" * 22) == b"{}"
    clock[0] += 10.5
    assert await store.read("a" * 22) is None  # ...but idle past it, the entry is gone
    await store.write("b" * 22, b"{}")
    assert len(store) == 1
