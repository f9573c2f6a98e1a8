"""NODE_REQUEST_LOG: a node records the X-Request-Id of every POST as it arrives, so the lab can see a replay."""

from __future__ import annotations

from pathlib import Path

from nodes.contract.names import REQUEST_ID_HEADER


async def test_every_post_id_is_recorded_once_per_arrival_and_reads_are_not(start_node, client, tmp_path: Path):  # type: ignore[no-untyped-def]
    log = tmp_path / "ids"
    url = await start_node("memory", NODE_REQUEST_LOG=str(log))
    browser = client()
    async with browser.post(url + "/login", json={"user": "u"}, headers={REQUEST_ID_HEADER: "login-1"}) as answer:
        assert answer.status == 200
    for _ in range(2):  # the same POST reaching the node twice: a replay, and the file shows it
        async with browser.post(url + "/counter", headers={REQUEST_ID_HEADER: "count-1"}) as answer:
            assert answer.status == 200
    async with browser.get(url + "/me", headers={REQUEST_ID_HEADER: "read-1"}) as answer:
        assert answer.status == 200
    async with browser.post(url + "/counter") as answer:  # no id: nothing to record
        assert answer.status == 200
    assert log.read_text().splitlines() == ["login-1", "count-1", "count-1"]
