"""How a replication message is signed: the part of the peer protocol a test tool or benchmark speaks too.

Every peer request carries `X-Replication-Timestamp` (epoch seconds), `X-Replication-Nonce` (random) and
`X-Replication-Signature`: the hex HMAC-SHA256, keyed by SESSION_PEER_SECRET, of
`timestamp \\n nonce \\n method \\n path?query \\n body`. The receiving checks (skew, replays, constant-time
comparison) stay with the replicated store (`nodes/stores/replication/wire.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Final

TIMESTAMP_HEADER: Final = "X-Replication-Timestamp"
NONCE_HEADER: Final = "X-Replication-Nonce"
SIGNATURE_HEADER: Final = "X-Replication-Signature"


def sign(secret: bytes, method: str, path: str, body: bytes, timestamp: float | None = None) -> dict[str, str]:
    """The authentication headers for one request."""
    stamp = f"{time.time() if timestamp is None else timestamp:.3f}"
    nonce = secrets.token_hex(12)
    return {
        TIMESTAMP_HEADER: stamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: mac(secret, stamp, nonce, method, path, body),
    }


def mac(secret: bytes, stamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
    """The signature of one request, as the headers carry it."""
    head = f"{stamp}\n{nonce}\n{method.upper()}\n{path}\n".encode()
    return hmac.new(secret, head + body, hashlib.sha256).hexdigest()
