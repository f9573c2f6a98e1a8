"""The one loopback HTTP client of the lab: a status, a JSON document or a full answer, never an exception.

Probes only ever go to servers this lab started on 127.0.0.1/::1; nothing that fails to answer raises.
No proxy from the environment is ever used: with HTTP_PROXY set, a probe would otherwise go to the proxy.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import Any

# One opener for every probe; an explicit empty ProxyHandler replaces the default one that reads *_proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Answer:
    """What came back: status None when nothing answered."""

    status: int | None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # one value per name (the last when repeated)
    set_cookies: tuple[str, ...] = ()  # every Set-Cookie header: `headers` keeps only one of them

    def header(self, name: str) -> str | None:
        """A header whatever the case of its name (HAProxy sends names in lower case)."""
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    jar: CookieJar | None = None,
    timeout: float = 1.0,
    form: dict[str, str] | None = None,
) -> Answer:
    """One request; HTTP errors are answers like any other, a refused or silent server is `Answer(None)`.

    `jar`, when given, sends its cookies and keeps the ones set by the answer (a browser-like client); `form` is
    sent as an HTML form's body."""
    data = None if json_body is None else json.dumps(json_body).encode()
    sent = {**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})}
    if form is not None:  # an HTML form's POST (Apache's balancer-manager)
        data = urllib.parse.urlencode(form).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310 - loopback only
    if jar is not None:
        jar.add_cookie_header(req)
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            return _answer(int(response.status), response.read(), response, req, jar)
    except urllib.error.HTTPError as error:
        return _answer(int(error.code), error.read(), error, req, jar)
    except (OSError, ValueError):
        return Answer(None)


def _answer(status: int, body: bytes, response: Any, req: urllib.request.Request, jar: CookieJar | None) -> Answer:
    if jar is not None:
        jar.extract_cookies(response, req)
    head = response.headers
    return Answer(status, body, dict(head.items()), tuple(head.get_all("Set-Cookie") or ()))


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The status of a GET to `url`, or None when nothing answers."""
    return request("GET", url, timeout=timeout).status


def get_json(url: str, timeout: float = 1.0) -> Any:
    """GET a JSON document, or None when nothing usable answers."""
    answer = request("GET", url, timeout=timeout)
    return answer.json() if answer.status is not None else None
