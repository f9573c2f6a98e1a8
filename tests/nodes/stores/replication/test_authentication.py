"""Replication messages that are unsigned, forged, replayed, stale or malformed are refused, logged without the
secret, and change nothing."""

from __future__ import annotations

import hmac
import json
import time

import aiohttp
import pytest

from nodes.contract.envconfig import SettingsError
from nodes.contract.names import REPLICATION_PREFIX, TOKEN_HEADER
from nodes.contract.peer_signature import SIGNATURE_HEADER, sign
from nodes.settings import NodeSettings
from nodes.stores.replication.wire import Refused, Verifier
from tests.nodes.stores.replication.conftest import ClusterFactory
from tests.nodes.stores.replication.support import SECRET, Node, connected, login, me, peer_call, stats


def delete_message(token: str) -> bytes:
    return json.dumps({"from": "intruder", "ops": [{"op": "del", "id": token}]}).encode()


async def test_forged_and_unsigned_messages_are_refused(start_cluster: ClusterFactory, http: aiohttp.ClientSession):
    cluster = start_cluster(2)
    await connected(http, cluster)
    node = cluster.nodes[0]
    token = await login(http, node)
    body = delete_message(token)
    unsigned = await http.post(node.url + REPLICATION_PREFIX + "apply", data=body)
    forged = await peer_call(http, node, "POST", "apply", body, secret="not-the-peer-secret-at-all")
    tampered_headers = sign(SECRET.encode(), "POST", REPLICATION_PREFIX + "apply", b'{"from":"x","ops":[]}')
    tampered = await http.post(node.url + REPLICATION_PREFIX + "apply", data=body, headers=tampered_headers)
    stale_headers = sign(SECRET.encode(), "POST", REPLICATION_PREFIX + "apply", body, timestamp=time.time() - 600)
    stale = await http.post(node.url + REPLICATION_PREFIX + "apply", data=body, headers=stale_headers)
    assert [r.status for r in (unsigned, forged, tampered, stale)] == [401, 401, 401, 401]
    assert (await me(http, node, token))[0] == 200  # nothing was applied
    assert (await stats(http, node))["refused"] == 4
    log = cluster.log(node)
    assert "bad replication signature" in log and "unsigned replication request" in log
    assert SECRET not in log and tampered_headers["X-Replication-Signature"] not in log


async def test_a_replayed_message_is_refused(start_cluster: ClusterFactory, http: aiohttp.ClientSession):
    cluster = start_cluster(1)
    node = cluster.nodes[0]
    headers = sign(SECRET.encode(), "POST", REPLICATION_PREFIX + "apply", b'{"from":"x","ops":[]}')
    first = await http.post(node.url + REPLICATION_PREFIX + "apply", data=b'{"from":"x","ops":[]}', headers=headers)
    again = await http.post(node.url + REPLICATION_PREFIX + "apply", data=b'{"from":"x","ops":[]}', headers=headers)
    assert (first.status, again.status) == (200, 401)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"from": "x"}',
        b'{"from": "x", "ops": [{"op": "put", "id": "short", "payload": "1:{}", "expires_at": 1}]}',
        b'{"from": "x", "ops": [{"op": "drop_everything"}]}',
        b'{"from": "x", "ops": [{"op": "end_user", "user": ""}]}',
    ],
)
async def test_malformed_messages_are_refused_without_a_crash(
    start_cluster: ClusterFactory, http: aiohttp.ClientSession, body: bytes
):
    cluster = start_cluster(1)
    node: Node = cluster.nodes[0]
    token = await login(http, node)
    response = await peer_call(http, node, "POST", "apply", body)
    assert response.status == 400
    assert (await me(http, node, token))[0] == 200
    assert "Traceback" not in cluster.log(node)


async def test_a_signed_put_with_a_bad_payload_changes_nothing(
    start_cluster: ClusterFactory, http: aiohttp.ClientSession
):
    cluster = start_cluster(1)
    node = cluster.nodes[0]
    token = await login(http, node)
    put = {"op": "put", "id": token, "payload": "99:not a session", "expires_at": time.time() + 60}
    response = await peer_call(http, node, "POST", "apply", json.dumps({"from": "x", "ops": [put]}).encode())
    assert response.status == 400
    status, body = await me(http, node, token)
    assert (status, body["user"]) == (200, "ann")
    headers = {TOKEN_HEADER: token}
    assert (await http.get(f"{node.url}/me", headers=headers)).status == 200


def test_the_peer_secret_is_required() -> None:
    with pytest.raises(SettingsError, match="SESSION_PEER_SECRET is required with SESSION_STORE=replicated"):
        NodeSettings.from_env({"SESSION_STORE": "replicated"})
    with pytest.raises(SettingsError, match="too short") as error:
        NodeSettings.from_env({"SESSION_STORE": "replicated", "SESSION_PEER_SECRET": "short-secret"})
    assert "short-secret" not in str(error.value)


def test_peer_lists_are_checked() -> None:
    environ = {"SESSION_STORE": "replicated", "SESSION_PEER_SECRET": SECRET}
    settings = NodeSettings.from_env({**environ, "SESSION_PEERS": "http://127.0.0.1:8081, dns://nodes:8080"})
    assert settings.peers == ("http://127.0.0.1:8081", "dns://nodes:8080")
    assert repr(SECRET) not in repr(settings)
    with pytest.raises(SettingsError, match="SESSION_PEERS"):
        NodeSettings.from_env({**environ, "SESSION_PEERS": "ftp://x:1"})


async def test_forged_or_malformed_forwarded_writes_change_nothing(
    start_cluster: ClusterFactory, http: aiohttp.ClientSession
):
    cluster = start_cluster(1)
    node = cluster.nodes[0]
    token = await login(http, node)
    evil = {"from": "x", "id": token, "expected": 1, "payload": '2:{"session":{"user":"mallory"}}', "user": None}
    forged = await peer_call(http, node, "POST", "cas", json.dumps(evil).encode(), secret="guessed-secret-123456")
    bad_version = await peer_call(http, node, "POST", "cas", json.dumps({**evil, "expected": "1"}).encode())
    bad_payload = await peer_call(http, node, "POST", "cas", json.dumps({**evil, "payload": "2:[]"}).encode())
    assert (forged.status, bad_version.status, bad_payload.status) == (401, 400, 400)
    assert (await me(http, node, token))[1]["user"] == "ann"


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A recording wrapper around `hmac.compare_digest` (the real one does the comparing) shows that both a good
    and a forged signature are checked through it, never with `==`."""
    compared: list[bytes] = []
    real = hmac.compare_digest

    def recording(given: bytes, expected: bytes) -> bool:
        compared.append(bytes(given))
        return real(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    verifier, path, body = Verifier(SECRET.encode()), REPLICATION_PREFIX + "apply", b'{"from":"x","ops":[]}'
    good = sign(SECRET.encode(), "POST", path, body)
    forged = sign(b"not-the-peer-secret-at-all-0123", "POST", path, body)
    verifier.check(good, "POST", path, body)
    with pytest.raises(Refused):
        verifier.check(forged, "POST", path, body)
    assert compared == [good[SIGNATURE_HEADER].encode(), forged[SIGNATURE_HEADER].encode()]
