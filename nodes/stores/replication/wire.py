"""The replication wire protocol: signed JSON messages between nodes, and the checks a receiver makes.

Every peer request carries `X-Replication-Timestamp` (epoch seconds), `X-Replication-Nonce` (random) and
`X-Replication-Signature`: the hex HMAC-SHA256, keyed by SESSION_PEER_SECRET, of
`timestamp \\n nonce \\n method \\n path?query \\n body`. A receiver refuses
(401) a missing or wrong signature, a timestamp more than MAX_SKEW seconds away from its clock, and a signature
it already accepted within that window (a replay); it refuses (400) a body that is not a well-formed message.
Neither the secret nor a signature is ever logged.

Message bodies (JSON): `{"from": node_id, "ops": [op, ...]}` with ops
  {"op": "put", "id": session id, "payload": "<version>:<json>", "expires_at": epoch seconds, "user": str|null}
  {"op": "del", "id": session id}
  {"op": "end_user", "user": str}
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nodes.contract.peer_signature import NONCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from nodes.contract.peer_signature import mac as _mac
from nodes.stores.replication.table import Entry, version_of

MAX_SKEW = 30.0  # seconds a signed message stays acceptable (clocks of the nodes may differ this much)
MAX_BODY = 16 * 1024 * 1024  # a request body: a batch of 500 ops or a re-sync chunk of 1,000 (snapshots are answers)
MAX_OPS = 100_000
# Session ids are 128 random bits in url-safe base64 (the stores' own format); nothing else is ever applied.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{22}")
MAX_USER = 256


class Refused(Exception):
    """A replication request that must not be applied: `status` is 401 (authentication) or 400 (malformed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Put:
    session_id: str
    entry: Entry


@dataclass(frozen=True, slots=True)
class Delete:
    session_id: str


@dataclass(frozen=True, slots=True)
class EndUser:
    user: str


Op = Put | Delete | EndUser


class Verifier:
    """Checks signatures in constant time and remembers the recent ones, so a captured message cannot be replayed."""

    def __init__(self, secret: bytes, max_remembered: int = 200_000) -> None:
        self._secret = secret
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._max_remembered = max_remembered

    def check(self, headers: Mapping[str, str], method: str, path: str, body: bytes) -> None:
        stamp = headers.get(TIMESTAMP_HEADER, "")
        nonce = headers.get(NONCE_HEADER, "")
        given = headers.get(SIGNATURE_HEADER, "")
        if not stamp or not given or not 0 < len(nonce) <= 64:
            raise Refused(401, "unsigned replication request")
        try:
            sent_at = float(stamp)
        except ValueError:
            raise Refused(401, "malformed replication timestamp") from None
        now = time.time()
        if not abs(now - sent_at) <= MAX_SKEW:
            raise Refused(401, f"replication timestamp {now - sent_at:+.1f}s off this node's clock")
        if not hmac.compare_digest(given.encode(), _mac(self._secret, stamp, nonce, method, path, body).encode()):
            raise Refused(401, "bad replication signature")
        self._remember(nonce, now)

    def _remember(self, nonce: str, now: float) -> None:
        if nonce in self._seen:
            raise Refused(401, "replayed replication message")
        self._seen[nonce] = now + MAX_SKEW
        while self._seen:
            oldest, until = next(iter(self._seen.items()))
            if until > now and len(self._seen) <= self._max_remembered:
                break
            del self._seen[oldest]


def encode_message(node_id: str, ops: list[Op]) -> bytes:
    return json.dumps({"from": node_id, "ops": [encode_op(op) for op in ops]}, separators=(",", ":")).encode()


def encode_op(op: Op) -> dict[str, Any]:
    if isinstance(op, Put):
        entry = op.entry
        return {"op": "put", "id": op.session_id, "payload": entry.payload.decode(), "expires_at": entry.expires_at,
                "user": entry.user}  # fmt: skip
    if isinstance(op, Delete):
        return {"op": "del", "id": op.session_id}
    return {"op": "end_user", "user": op.user}


def decode_message(body: bytes) -> tuple[str, list[Op]]:
    """(sender, ops) of a message body; Refused(400) for anything malformed, before anything is applied."""
    data = parse_json(body)
    sender = data.get("from")
    if not isinstance(sender, str):
        raise Refused(400, "a replication message needs 'from' (string) and 'ops' (list)")
    return sender, decode_ops(data)


def decode_ops(data: Mapping[str, Any]) -> list[Op]:
    ops = data.get("ops")
    if not isinstance(ops, list) or len(ops) > MAX_OPS:
        raise Refused(400, "a replication message needs 'from' (string) and 'ops' (list)")
    return [decode_op(op) for op in ops]


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(400, "the replication body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the replication body must be a JSON object")
    return data


def decode_op(raw: Any) -> Op:
    if not isinstance(raw, dict):
        raise Refused(400, "each op must be a JSON object")
    kind = raw.get("op")
    if kind == "put":
        return Put(session_id(raw.get("id")), decode_entry(raw))
    if kind == "del":
        return Delete(session_id(raw.get("id")))
    if kind == "end_user":
        return EndUser(user_name(raw.get("user")))
    raise Refused(400, "unknown replication op")


def decode_entry(raw: Mapping[str, Any]) -> Entry:
    payload, expires_at = raw.get("payload"), raw.get("expires_at")
    if not isinstance(payload, str) or isinstance(expires_at, bool) or not isinstance(expires_at, int | float):
        raise Refused(400, "a put needs 'payload' (string) and 'expires_at' (number)")
    encoded, version = stored_form(payload)
    return Entry(encoded, version, float(expires_at), optional_user(raw.get("user")))


def stored_form(payload: Any) -> tuple[bytes, int]:
    """A `<version>:<session JSON>` payload as bytes, with its version; Refused(400) for anything else."""
    encoded = payload.encode() if isinstance(payload, str) else b""
    version = version_of(encoded)
    if version is None or not _is_session_json(encoded.partition(b":")[2]):
        raise Refused(400, "a payload must be '<version>:<session JSON>'")
    return encoded, version


def optional_user(value: Any) -> str | None:
    return None if value is None else user_name(value)


def _is_session_json(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("session"), dict)


def session_id(value: Any) -> str:
    if not isinstance(value, str) or SESSION_ID.fullmatch(value) is None:
        raise Refused(400, "malformed session id")
    return value


def user_name(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_USER:
        raise Refused(400, "malformed user name")
    return value
