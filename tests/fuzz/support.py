"""What the bad-input suite shares: a real cluster to attack, a raw-socket HTTP client, and the checks every answer
must pass.

The cluster is three node processes, one per session store (memory, cookie, redis), behind two balancer processes
(sticky and hash routing), so every fuzzed request meets one store's parsing and one routing mode's. Before any
fuzzing, a victim user logs in on each node with a unique marker name and a cart item; no fuzzed answer may ever
contain a victim's marker or session reference.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httptools
from cryptography.fernet import Fernet

from loadtest.lab.launcher import child_env, launch_balancer, launch_node
from loadtest.lab.probe import http_status
from loadtest.lab.processes import ManagedProcess, free_ports, wait_until
from loadtest.lab.redis_server import RedisServer

PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STORES = ("memory", "cookie", "redis")
ROUTINGS = ("sticky", "hash")
SOCKET_TIMEOUT = 10.0  # no answer may take longer (the balancer's own read timeout is 30 s, nothing here is slow)
# Text that only a crashed handler would send: a traceback, a source location, an exception class name.
EXCEPTION_TEXT = re.compile(
    rb"Traceback \(most recent call last\)|File \"[^\"]*\", line \d+|\b[A-Z]\w*(?:Error|Exception)\b"
)


@dataclass
class Response:
    """One HTTP answer as the raw bytes said it."""

    status: int
    headers: list[tuple[str, str]]  # lower-case names, latin-1 values, in order
    body: bytes
    closes: bool = False  # it said `Connection: close`: nothing may follow it on the connection

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def headers_named(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def json(self) -> Any:
        return json.loads(self.body)

    def cookie(self, name: str) -> str | None:
        """The value a Set-Cookie header gives `name`, if any."""
        for value in self.headers_named("set-cookie"):
            key, _, rest = value.partition("=")
            if key.strip() == name:
                return rest.split(";", 1)[0]
        return None


class _Parser:
    """httptools callbacks collecting every response in a byte stream."""

    def __init__(self) -> None:
        self.responses: list[Response] = []
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self.parser = httptools.HttpResponseParser(self)

    def on_message_begin(self) -> None:
        self._headers, self._body = [], []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_body(self, data: bytes) -> None:
        self._body.append(data)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if status >= 200:  # interim 1xx answers are not answers
            self.responses.append(Response(status, self._headers, b"".join(self._body)))


def parse_responses(data: bytes) -> list[Response]:
    """Every complete response in `data`; fails the test if the balancer sent something that is not HTTP.

    httptools refuses bytes after a `Connection: close` answer; the balancer's own header is renamed before parsing
    so that whatever follows is parsed too, and the answer is marked (`closes`) for `assert_clean` to judge."""
    parser = _Parser()
    try:
        parser.parser.feed_data(data.replace(_CLOSE, _CLOSE_SEEN))
    except httptools.HttpParserError as exc:
        raise AssertionError(f"the answer is not valid HTTP ({exc}): {data[:300]!r}") from None
    for response in parser.responses:
        response.closes = response.header(_CLOSE_SEEN_NAME) == "close"
    return parser.responses


_CLOSE, _CLOSE_SEEN, _CLOSE_SEEN_NAME = (
    b"\r\nConnection: close\r\n",
    b"\r\nX-Seen-Connection: close\r\n",
    "x-seen-connection",
)


def exchange(port: int, *parts: bytes, half_close: bool = True) -> list[Response]:
    """Send raw bytes (each part in its own write), half-close, read until the server closes; the answers."""
    received = bytearray()
    with socket.create_connection((HOST, port), timeout=SOCKET_TIMEOUT) as sock:
        try:
            for part in parts:
                sock.sendall(part)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed early (e.g. a head too large): read what it said
        started = time.monotonic()
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            raise AssertionError(f"no end of answer after {time.monotonic() - started:.1f}s: a hang") from None
        except ConnectionResetError:
            pass  # judged by what arrived before the reset
    return parse_responses(bytes(received))


def request(
    method: str | bytes,
    target: str | bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    body: bytes = b"",
    *,
    length: bool = True,
    close: bool = True,
) -> bytes:
    """Raw bytes of one HTTP/1.1 request; headers go out exactly as given (nothing is validated or escaped)."""
    method = method.encode() if isinstance(method, str) else method
    target = target.encode() if isinstance(target, str) else target
    lines = [b"%b %b HTTP/1.1" % (method, target), b"Host: " + HOST.encode()]
    lines += [name + b": " + value for name, value in headers or []]
    if length and body:
        lines.append(b"Content-Length: %d" % len(body))
    if close:
        lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def json_request(method: str, target: str, value: Any, headers: list[tuple[bytes, bytes]] | None = None) -> bytes:
    body = json.dumps(value).encode()
    return request(method, target, [(b"Content-Type", b"application/json"), *(headers or [])], body)


def cookie_header(**cookies: str) -> tuple[bytes, bytes]:
    return b"Cookie", "; ".join(f"{name}={value}" for name, value in cookies.items()).encode("latin-1")


@dataclass
class Member:
    name: str
    port: int
    process: ManagedProcess

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass
class Identity:
    """A logged-in browser: the user, the node that holds its session, and the cookies that reach it."""

    user: str
    node: str
    session: str  # SL_SESSION value
    route: str = ""  # SL_ROUTE value pinning it to `node` through the sticky balancer

    def cookies(self) -> tuple[bytes, bytes]:
        return cookie_header(SL_ROUTE=self.route, SL_SESSION=self.session)


@dataclass(repr=False)
class FuzzCluster:
    """Nodes (one per store), a sticky and a hash balancer, a private redis-server; victims and attackers set up."""

    log_dir: Path
    nodes: dict[str, Member] = field(default_factory=dict)  # node id -> member
    balancers: dict[str, Member] = field(default_factory=dict)  # routing -> member
    redis: RedisServer | None = None
    routes: dict[str, str] = field(default_factory=dict)  # SL_ROUTE value -> node id
    victims: list[Identity] = field(default_factory=list)
    attackers: dict[str, Identity] = field(default_factory=dict)  # node id -> an identity the fuzzer may use
    forbidden: list[bytes] = field(default_factory=list)  # the victims' markers and references: never in an answer
    requests_sent: int = 0

    def start(self) -> FuzzCluster:
        try:
            self._start_processes()
            self._wait_ready(time.monotonic() + 60.0)
            self._meet_the_nodes()
            self._log_in_victims()
            self._log_in_attackers()
        except BaseException:
            self.stop()
            raise
        return self

    def __repr__(self) -> str:
        return f"FuzzCluster(nodes={list(self.nodes)}, balancers={list(self.balancers)})"

    def port(self, routing: str) -> int:
        return self.balancers[routing].port

    def send(self, routing: str, *parts: bytes, half_close: bool = True) -> list[Response]:
        """One fuzzed exchange through a balancer (counted)."""
        self.requests_sent += 1
        return exchange(self.port(routing), *parts, half_close=half_close)

    def stop(self) -> None:
        for member in [*self.balancers.values(), *self.nodes.values()]:
            member.process.signal(15)
        for member in [*self.balancers.values(), *self.nodes.values()]:
            member.process.stop()
        if self.redis is not None:
            self.redis.cleanup()

    def logs(self) -> dict[str, str]:
        return {path.name: path.read_text(errors="replace") for path in sorted(self.log_dir.glob("*.log"))}

    def _start_processes(self) -> None:
        self.redis = RedisServer(host=HOST, log_dir=self.log_dir).start()
        key = Fernet.generate_key().decode()
        ports = free_ports(len(STORES) + len(ROUTINGS), HOST)
        for index, store in enumerate(STORES, start=1):
            name, port = f"node-{index}", ports.pop()
            env = child_env(SESSION_STORE=store, SESSION_SECRET=key, REDIS_URL=self.redis.url)
            self.nodes[name] = Member(name, port, launch_node(name, HOST, port, self.log_dir, env))
        upstreams = ",".join(member.url for member in self.nodes.values())
        for routing in ROUTINGS:
            port = ports.pop()
            env = child_env(BALANCER_UPSTREAMS=upstreams, BALANCER_ROUTING=routing,
                            BALANCER_ROUTE_SECRET=secrets.token_urlsafe(24))  # fmt: skip
            name = f"balancer-{routing}"
            self.balancers[routing] = Member(name, port, launch_balancer(name, HOST, port, self.log_dir, env))

    def _wait_ready(self, deadline: float) -> None:
        for member in self.nodes.values():
            member.process.wait_ready(partial(_answers_200, member.url + "/readyz"), deadline - time.monotonic())
        for member in self.balancers.values():
            member.process.wait_ready(partial(self._all_healthy, member), deadline - time.monotonic())

    def _all_healthy(self, balancer: Member) -> bool:
        try:
            [answer] = exchange(balancer.port, request("GET", "/_balancer/status"))
        except (OSError, AssertionError, ValueError):
            return False
        return answer.status == 200 and answer.json()["healthy"] == len(self.nodes)

    def _meet_the_nodes(self) -> None:
        """Learn each node's SL_ROUTE value: new clients are placed round-robin, so a few fresh requests cover all."""
        ok = wait_until(lambda: self._learn_route() and len(self.routes) == len(self.nodes), 10.0, interval=0.0)
        assert ok, f"the sticky balancer never placed a client on every node: {self.routes}"

    def _learn_route(self) -> bool:
        [answer] = exchange(self.port("sticky"), request("GET", "/healthz"))
        route, node = answer.cookie("SL_ROUTE"), answer.header("x-node-id")
        assert answer.status == 200 and route and node, answer
        self.routes[route] = node
        return True

    def _login(self, user: str, node: str, *, direct: bool) -> Identity:
        route = next(value for value, owner in self.routes.items() if owner == node)
        cookies = [cookie_header(SL_ROUTE=route)]
        raw = json_request("POST", "/login", {"user": user}, cookies)
        # aiohttp drops a request whose client half-closed: direct node requests keep their write side open.
        [answer] = exchange(self.nodes[node].port if direct else self.port("sticky"), raw, half_close=not direct)
        session = answer.cookie("SL_SESSION")
        assert answer.status == 200 and answer.header("x-node-id") == node and session, answer
        return Identity(user, node, session, route)

    def _log_in_victims(self) -> None:
        """A victim per node, logged in at the node itself, with a marker name and a marker cart item."""
        for node, member in self.nodes.items():
            marker = f"victim{secrets.token_hex(8)}"
            victim = self._login(marker, node, direct=True)
            raw = json_request("POST", "/cart/items", {"sku": f"sku{marker}", "qty": 7}, [victim.cookies()])
            [answer] = exchange(member.port, raw, half_close=False)
            assert answer.status == 200, answer
            victim.session = answer.cookie("SL_SESSION") or victim.session  # the cookie store re-issues it
            self.victims.append(victim)
            self.forbidden += [marker.encode(), victim.session.encode()]

    def _log_in_attackers(self) -> None:
        for node in self.nodes:
            self.attackers[node] = self._login(f"attacker-{node}", node, direct=False)

    def assert_in_sync(self, node: str, after: bytes) -> None:
        """The attacker identity on `node` reads its own session through the sticky balancer, on the node connection
        the previous request used (the pool hands out the most recently used first): a request split or merged
        on the way to the node (desync, smuggling) shows up here as a wrong answer. On failure the identity is
        logged in again, so the next example starts clean."""
        identity = self.attackers[node]
        answers = self.send("sticky", request("GET", "/me", [identity.cookies()]))
        seen = [(a.status, a.header("x-node-id"), a.body[:300]) for a in answers]
        if len(answers) != 1 or not _is_own_me(answers[0], identity):
            self.attackers[node] = self._login(identity.user, node, direct=False)
            raise AssertionError(f"after {after[:400]!r} the next user on {node} got {seen}")

    def victim_state(self, victim: Identity) -> Any:
        """What the victim's own node says about the victim's session (to prove nobody changed it)."""
        raw = request("GET", "/cart", [victim.cookies()])
        [answer] = exchange(self.nodes[victim.node].port, raw, half_close=False)
        return answer.status, answer.json()


def _answers_200(url: str) -> bool:
    return http_status(url) == 200


def _is_own_me(answer: Response, identity: Identity) -> bool:
    """Whether `answer` is exactly GET /me's answer for `identity` (not another endpoint's, not another user's)."""
    if answer.status != 200 or answer.header("x-node-id") != identity.node:
        return False
    body = answer.json()
    return set(body) == {"node", "user", "counter", "session"} and (body["user"], body["session"]) == (
        identity.user,
        "found",
    )


# After an answer that says `Connection: close`, nothing else may come (RFC 9112 9.6).
AFTER_CLOSE_KNOWN: tuple[str, ...] = ()


def assert_clean(cluster: FuzzCluster, sent: bytes, answers: list[Response]) -> None:
    """What every answer to bad input must be: no 5xx, a documented JSON shape, nothing from a crash, nothing of
    another user's session, nothing forwarded after an answer that closed the connection."""
    closed = [index for index, answer in enumerate(answers) if answer.closes]
    for late in answers[closed[0] + 1 :] if closed else []:
        assert late.header("x-balancer-error") in AFTER_CLOSE_KNOWN, f"answered after Connection: close: {late}"
    for answer in answers:
        raw = b"".join(f"{k}: {v}\n".encode("latin-1") for k, v in answer.headers) + answer.body
        assert answer.status < 500, f"{answer.status} for {sent[:300]!r}: {answer.body[:300]!r}"
        for secret in cluster.forbidden:
            assert secret not in raw, f"another user's session data in an answer to {sent[:300]!r}"
        for found in EXCEPTION_TEXT.finditer(raw):
            assert found.group() in sent, f"exception text in an answer: {raw[:500]!r}"
        if answer.header("x-node-id") is None and answer.header("x-balancer-error") is None:
            # Only the balancer's own status and metrics endpoints answer without saying who sent the answer.
            assert answer.status == 200 and b"balancer" in answer.body, f"an anonymous answer: {answer}"
            continue
        content_type = answer.header("content-type") or ""
        if content_type.startswith("text/html") or answer.status == 303:
            # The node's page (GET /, and its forms' POST /page/... that redirect back): the one non-JSON shape.
            assert b"<main data-node=" in answer.body or answer.header("location") == "/", f"odd HTML: {answer}"
            continue
        assert content_type.startswith("application/json"), f"not a JSON answer to {sent[:300]!r}: {answer}"
        assert isinstance(answer.json(), dict), answer


def assert_victims_untouched(cluster: FuzzCluster) -> None:
    """Nothing the fuzzer sent changed another user's session."""
    for victim in cluster.victims:
        status, cart = cluster.victim_state(victim)
        changed = f"victim {victim.user}'s session changed under the fuzzing: {status} {cart}"
        assert status == 200 and cart["user"] == victim.user, changed
        assert cart["cart"] == [{"sku": f"sku{victim.user}", "qty": 7}], changed


TRACEBACK = re.compile(r"Traceback \(most recent call last\):\n(?:[ \t].*\n|\n)*(\S.*)")


def assert_no_traceback_logged(cluster: FuzzCluster, known: tuple[str, ...] = ()) -> None:
    """Bad input is answered, never crashes a handler: no process logged a traceback (except `known` bugs, given by
    the exception line that ends the traceback)."""
    logs = cluster.logs()
    assert len(logs) == len(cluster.nodes) + len(cluster.balancers) + 1  # and redis-server's
    found = {name: [m.group(1) for m in TRACEBACK.finditer(text)] for name, text in logs.items()}
    assert "Traceback" not in "".join(TRACEBACK.sub("", text) for text in logs.values()), "an unparsed traceback"
    logged = {name: [e for e in errors if e not in known] for name, errors in found.items() if set(errors) - set(known)}
    assert logged == {}, f"tracebacks logged (process: exceptions): {logged}; logs in {cluster.log_dir}"
