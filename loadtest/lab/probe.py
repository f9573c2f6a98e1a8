"""The one loopback HTTP client of the lab: a status, a JSON document or a full answer, never an exception.

Probes only ever go to servers this lab started on 127.0.0.1/::1; nothing that fails to answer raises.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Answer:
    """What came back: status None when nothing answered."""

    status: int | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def request(
    method: str, url: str, *, json_body: Any = None, headers: dict[str, str] | None = None, timeout: float = 1.0
) -> Answer:
    """One request; HTTP errors are answers like any other, a refused or silent server is `Answer(None)`."""
    data = None if json_body is None else json.dumps(json_body).encode()
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
    req = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return Answer(int(response.status), response.read(), dict(response.headers.items()))
    except urllib.error.HTTPError as error:
        return Answer(int(error.code), error.read(), dict(error.headers.items()))
    except (OSError, ValueError):
        return Answer(None)


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The status of a GET to `url`, or None when nothing answers."""
    return request("GET", url, timeout=timeout).status


def get_json(url: str, timeout: float = 1.0) -> Any:
    """GET a JSON document, or None when nothing usable answers."""
    answer = request("GET", url, timeout=timeout)
    return answer.json() if answer.status is not None else None
