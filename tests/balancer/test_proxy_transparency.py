"""What browsers and apps rely on: the proxy passes requests and responses through unchanged, except for the
hop-by-hop headers it must drop and the X-Forwarded-* headers it must set."""

from __future__ import annotations

import gzip
import os

import aiohttp
import pytest
from aiohttp import web

from tests.balancer.support import RawHttp


async def test_every_set_cookie_of_a_response_reaches_the_client(start_nodes, start_balancer, client) -> None:
    async def cookies(request: web.Request) -> web.Response:
        response = web.Response(text="three")
        for name in ("a", "b", "c"):
            response.set_cookie(name, f"value-{name}", httponly=True)
        return response

    nodes = await start_nodes(1, [web.get("/cookies", cookies)])
    balancer = await start_balancer(nodes)
    async with client().get(balancer.url + "/cookies") as response:
        set_cookies = response.headers.getall("Set-Cookie")
    assert sorted(value.split(";")[0] for value in set_cookies) == ["a=value-a", "b=value-b", "c=value-c"]


async def test_a_redirect_reaches_the_client_with_its_set_cookie(start_nodes, start_balancer, client) -> None:
    followed = []

    async def login(request: web.Request) -> web.Response:
        response = web.Response(status=302, headers={"Location": "/home"})
        response.set_cookie("SL_SESSION", "abc123", path="/")
        return response

    async def home(request: web.Request) -> web.Response:
        followed.append(request)
        return web.Response(text="home")

    nodes = await start_nodes(1, [web.post("/login", login), web.get("/home", home)])
    balancer = await start_balancer(nodes)
    async with client().post(balancer.url + "/login", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == "/home"
        assert response.headers.getall("Set-Cookie")[0].startswith("SL_SESSION=abc123")
    assert followed == []  # the balancer passed the redirect on instead of following it


async def test_a_gzip_body_passes_byte_for_byte(start_nodes, start_balancer, client) -> None:
    compressed = gzip.compress(b"session data " * 5000)

    async def gz(request: web.Request) -> web.Response:
        return web.Response(body=compressed, headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"})

    nodes = await start_nodes(1, [web.get("/gz", gz)])
    balancer = await start_balancer(nodes)
    async with client(auto_decompress=False).get(balancer.url + "/gz") as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["Content-Length"] == str(len(compressed))
        assert await response.read() == compressed


async def test_request_bodies_pass_byte_for_byte_with_length_or_chunked(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    payload = os.urandom(300_000)
    raw = await RawHttp.connect(balancer.port)
    sized = await raw.exchange(f"POST /sized HTTP/1.1\nHost: x\nContent-Length: {len(payload)}", payload)
    chunked_body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (payload[:1000], payload[1000:]))
    chunked = await raw.exchange(
        "POST /chunked HTTP/1.1\nHost: x\nTransfer-Encoding: chunked", chunked_body + b"0\r\n\r\n"
    )
    await raw.close()
    assert (sized.status, chunked.status) == (200, 200)
    first, second = nodes[0].seen
    assert first.body == second.body == payload
    assert first.headers["Content-Length"] == str(len(payload))


async def test_no_header_is_added_that_the_client_did_not_send(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    await raw.exchange("GET /plain HTTP/1.1\nHost: example.test")
    await raw.exchange("POST /plain HTTP/1.1\nHost: example.test\nContent-Length: 3", b"abc")
    await raw.close()
    for seen in nodes[0].seen:
        added = {name.lower() for name in seen.headers} - {"host", "content-length", "connection"}
        assert added == {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}, seen.headers
        assert seen.headers["Host"] == "example.test"
        assert seen.headers.get("Connection", "keep-alive").lower() == "keep-alive"


async def test_hop_by_hop_headers_never_reach_the_node(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    response = await raw.exchange(
        "GET /hop HTTP/1.1\nHost: x\nConnection: keep-alive, X-Client-Hop\nX-Client-Hop: 1\nKeep-Alive: timeout=5\n"
        "TE: trailers\nTrailer: X-Checksum\nProxy-Authorization: Basic c2VjcmV0\nProxy-Connection: keep-alive\n"
        "Upgrade: h2c\nExpect: 100-continue\nX-End-To-End: kept"
    )
    await raw.close()
    assert response.status == 200
    received = {name.lower() for name in nodes[0].seen[0].headers}
    hop = {"x-client-hop", "keep-alive", "te", "trailer", "proxy-authorization", "proxy-connection", "upgrade"}
    assert not received & hop, received
    assert "expect" not in received  # the balancer answered it already
    assert nodes[0].seen[0].headers["X-End-To-End"] == "kept"


async def test_hop_by_hop_headers_never_reach_the_client(start_nodes, start_balancer) -> None:
    async def hop(request: web.Request) -> web.Response:
        headers = {
            "Connection": "X-Node-Hop",
            "X-Node-Hop": "1",
            "Keep-Alive": "timeout=5",
            "Proxy-Authenticate": "Basic",
            "Trailer": "X-Checksum",
            "X-End-To-End": "kept",
        }
        return web.Response(text="hop", headers=headers)

    nodes = await start_nodes(1, [web.get("/hop", hop)])
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    response = await raw.exchange("GET /hop HTTP/1.1\nHost: x")
    await raw.close()
    received = {name.lower() for name, _ in response.headers}
    assert not received & {"x-node-hop", "keep-alive", "proxy-authenticate", "trailer"}, response.headers
    assert response.get("Connection") in ([], ["keep-alive"])
    assert response.get("X-End-To-End") == ["kept"]
    assert response.body == b"hop"


async def test_x_forwarded_headers_are_set_and_client_claims_replaced(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    await raw.exchange(
        "GET / HTTP/1.1\nHost: shop.example:8443\nX-Forwarded-For: 203.0.113.9\nX-Forwarded-Proto: https\n"
        "X-Forwarded-Host: evil.example\nForwarded: for=198.51.100.1;proto=https"
    )
    await raw.close()
    headers = nodes[0].seen[0].headers
    assert headers.getall("X-Forwarded-For") == ["203.0.113.9, 127.0.0.1"]  # appended, not replaced
    assert headers.getall("X-Forwarded-Proto") == ["http"]
    assert headers.getall("X-Forwarded-Host") == ["shop.example:8443"]
    assert "Forwarded" not in headers


@pytest.mark.parametrize(
    "target",
    [
        "/a/../b/%2F%7e;param?q=%20+x&q=2&flag&amp=a%26b",
        "/a//b/./c?x=%E2%82%AC",
        "/%zz?%zz",
        "/search?q=caf%C3%A9&sort=",
    ],
)
async def test_path_and_query_reach_the_node_exactly_as_sent(start_nodes, start_balancer, target: str) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    response = await raw.exchange(f"GET {target} HTTP/1.1\nHost: x")
    await raw.close()
    assert response.status == 200
    assert nodes[0].seen[0].raw_path == target


async def test_head_204_and_304_responses_carry_no_body(start_nodes, start_balancer) -> None:
    async def empty(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["status"]))

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="x" * 1000)

    nodes = await start_nodes(1, [web.get("/status/{status}", empty), web.get("/page", page)])
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    # Each response is followed on the same connection by a GET: any stray body bytes would corrupt its reply.
    head = await raw.exchange("HEAD /page HTTP/1.1\nHost: x", expect_body=False)
    assert (head.status, head.get("Content-Length")) == (200, ["1000"])
    assert (await raw.exchange("GET /page HTTP/1.1\nHost: x")).body == b"x" * 1000
    for status in (204, 304):
        assert (await raw.exchange(f"GET /status/{status} HTTP/1.1\nHost: x", expect_body=False)).status == status
        assert (await raw.exchange("GET /page HTTP/1.1\nHost: x")).body == b"x" * 1000
    await raw.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_no_cookie_ever_crosses_clients(start_nodes, start_balancer, host: str) -> None:
    """A cookie jar in the proxy would store each node's session cookie and replay it for everyone; cookie jars
    treat IP hosts differently (aiohttp's ignores them), so the node and balancer are reached by name too."""

    async def login(request: web.Request) -> web.Response:
        response = web.json_response({"user": request.query["user"]})
        response.set_cookie("SL_SESSION", request.query["user"], path="/")
        return response

    async def whoami(request: web.Request) -> web.Response:
        return web.json_response({"cookie": request.headers.get("Cookie")})

    nodes = await start_nodes(2, [web.post("/login", login), web.get("/whoami", whoami)])
    urls = [node.url.replace("127.0.0.1", host) for node in nodes]
    balancer = await start_balancer(urls, routing="round_robin")
    base = f"http://{host}:{balancer.port}"
    jar = aiohttp.CookieJar(unsafe=host == "127.0.0.1")  # a default jar, as a browser has, for host names
    async with aiohttp.ClientSession(cookie_jar=jar) as alice, aiohttp.ClientSession() as bob:
        for _ in range(2):  # one login on each node
            async with alice.post(base + "/login", params={"user": "alice"}) as response:
                assert response.status == 200
        assert any(cookie.key == "SL_SESSION" for cookie in jar)  # the client side really keeps cookies
        for _ in range(4):
            async with bob.get(base + "/whoami") as response:
                assert await response.json() == {"cookie": None}
            async with alice.get(base + "/whoami") as response:
                assert await response.json() == {"cookie": "SL_SESSION=alice"}
