"""The server-sent events user: a browser's `EventSource` on `/events` through the balancer.

SSE is one-way, so an increment is its own `POST /counter` (through the balancer, with the same cookies: with
random routing it may reach another node than the stream). A stream that ends (a draining node ends it at its next
tick) or breaks is reconnected with the WebSocket user's back-off and jitter; a 401 on the stream or on an
increment is a session miss (a new login, then a new stream). The counts are the WebSocket user's, labelled "sse".
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

from loadtest.users.longlived import SILENCE_S, LiveUser
from nodes.contract.names import EVENTS_PATH

KIND = "sse"
COUNTER_PATH = "/counter"
Stream = tuple[http.client.HTTPConnection, http.client.HTTPResponse]


def stream_request(url: str, cookie: str, timeout: float = SILENCE_S) -> Stream:
    """GET /events on `url` (http or https), headers read; the body is left to read line by line."""
    parts = urlsplit(url)
    factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = factory(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", **({"Cookie": cookie} if cookie else {})}
    try:
        connection.request("GET", EVENTS_PATH, headers=headers)
        return connection, connection.getresponse()
    except BaseException:
        connection.close()
        raise


def read_event(response: http.client.HTTPResponse) -> tuple[str, str] | None:
    """The next event's name and data (one `data:` line, as the nodes send), or None when the stream ended."""
    name, data = "message", list[str]()
    while True:
        line = response.readline()
        if not line:
            return None
        text = line.decode("utf-8").rstrip("\r\n")
        if not text:
            if data:
                return name, "\n".join(data)
            continue
        field, _, value = text.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


class SSEUser(LiveUser):
    """Lives on a `text/event-stream`; sends each `incr` as `POST /counter` and judges its answer."""

    kind = KIND

    def open_connection(self) -> Stream | None:
        try:
            connection, response = stream_request(self.host or "", self.cookie_header())
        except (OSError, http.client.HTTPException):
            self.connect_failed()
            return None
        if response.status == 401:
            connection.close()
            self.session_missing("401")
            return None
        if response.status != 200:
            connection.close()
            self.connect_failed()
            return None
        return connection, response

    def close_connection(self, connection: Stream) -> None:
        connection[0].close()

    def converse(self, connection: Stream) -> None:
        while True:
            try:
                event = read_event(connection[1])
            except (OSError, http.client.HTTPException, ValueError):
                self.ended("reset")
                return
            if event is None:
                self.ended("end")
                return
            if not self.on_message(json.loads(event[1])):
                return

    def send_incr(self) -> bool:
        """POST /counter for the stream's session; False (the stream ends) when the node did not see the session."""
        self.judge.increment_sent()
        with self.client.post(COUNTER_PATH, name=f"{COUNTER_PATH} [{KIND}]", catch_response=True) as resp:
            body: Any = _json(resp)
            if resp.status_code == 200 and isinstance(body, dict) and isinstance(body.get("counter"), int):
                self.count(self.judge.answered(int(body["counter"])))
                return True
            if resp.status_code == 401:
                resp.success()  # the node answered correctly for what it saw: a miss, counted as one
                self.judge.unanswered()
                self.session_missing("increment 401")
                return False
            resp.failure(f"POST {COUNTER_PATH} answered {resp.status_code or 'no response'}")
            self.judge.unanswered()  # it may or may not have been stored: the next answer settles it
            return True


def _json(resp: Any) -> Any:
    try:
        return json.loads(resp.content or b"")
    except ValueError:
        return None
