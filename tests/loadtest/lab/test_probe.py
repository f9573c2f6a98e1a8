"""The lab's loopback client against a real local server: no proxy from the environment, every Set-Cookie, a jar."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from loadtest.lab.probe import request
from loadtest.lab.processes import free_port


class Handler(BaseHTTPRequestHandler):
    """GET /me: the Cookie header it got as JSON, and two cookies set."""

    def do_GET(self) -> None:
        body = json.dumps({"cookie": self.headers.get("Cookie")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "a=1; Path=/")
        self.send_header("Set-Cookie", "b=2; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_probe_ignores_a_proxy_from_the_environment(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(urllib.error.URLError):  # urllib's default would send it to the dead proxy
        urllib.request.build_opener().open(server + "/me", timeout=2)
    assert request("GET", server + "/me", timeout=2).status == 200


def test_every_set_cookie_is_kept_and_a_jar_sends_them_back(server: str) -> None:
    answer = request("GET", server + "/me")
    assert answer.set_cookies == ("a=1; Path=/", "b=2; Path=/") and answer.json() == {"cookie": None}
    jar = CookieJar()
    request("GET", server + "/me", jar=jar)
    assert request("GET", server + "/me", jar=jar).json() == {"cookie": "a=1; b=2"}
