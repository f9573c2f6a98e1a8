"""HTTP/1.1 as the forwarder speaks it: pipelining, keep-alive both ways, Connection: close, re-framed bodies,
100-continue, and malformed or ambiguous requests (request smuggling) refused with a 400 that echoes nothing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web

from loadtest.lab.processes import free_port
from tests.balancer.support import RawHttp, RawResponse, RawUpstream, eventually

MARKER = "zq-echo-marker-7319"  # must never appear in what the balancer answers or logs


class ScriptedNode(RawUpstream):
    """A bare upstream that answers each request with bytes of our choosing (what aiohttp would not send)."""

    def __init__(self, answer: Callable[[bytes], bytes], *, close_after: bool = False) -> None:
        super().__init__()
        self.answer = answer
        self.close_after = close_after
        self.heads: list[bytes] = []

    async def handle(self, head: bytes, writer: asyncio.StreamWriter) -> bool:
        self.heads.append(head)
        writer.write(self.answer(head))
        await writer.drain()
        return not self.close_after


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[..., ScriptedNode]]:
    nodes: list[ScriptedNode] = []

    def make(answer: Callable[[bytes], bytes], **kwargs: bool) -> ScriptedNode:
        node = ScriptedNode(answer, **kwargs)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        await node.close()


async def closed_by_peer(raw: RawHttp) -> bool:
    """Whether the balancer closed the connection (EOF with nothing more to read)."""
    return await asyncio.wait_for(raw.reader.read(1), 5) == b""


def assert_bad_request(response: RawResponse, status: int = 400, reason: str = "bad_request") -> None:
    assert response.status == status
    assert response.get("X-Balancer-Error") == [reason]
    assert response.get("Connection") == ["close"]
    body = json.loads(response.body)
    assert body["error"] == reason and body["detail"]
    assert MARKER not in response.body.decode() and "Traceback" not in response.body.decode()


async def test_pipelined_requests_are_answered_in_order(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(
        b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /third HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        b"GET /fourth HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    await raw.writer.drain()
    answers = [await raw.read_response() for _ in range(4)]
    await raw.close()
    assert [json.loads(answer.body)["path"] for answer in answers] == ["/first", "/second", "/third", "/fourth"]
    assert [(seen.raw_path, seen.body) for seen in nodes[0].seen] == [
        ("/first", b""),
        ("/second", b"hello"),
        ("/third", b"abc"),
        ("/fourth", b""),
    ]


async def test_node_connections_are_kept_alive_and_reused(start_nodes, start_balancer) -> None:
    async def peer(request: web.Request) -> web.Response:
        assert request.transport is not None
        return web.Response(text=str(request.transport.get_extra_info("peername")[1]))

    nodes = await start_nodes(1, [web.get("/peer", peer)])
    balancer = await start_balancer(nodes)
    ports = set()
    for _ in range(3):  # sequential clients, each with two requests
        raw = await RawHttp.connect(balancer.port)
        for _ in range(2):
            ports.add((await raw.exchange("GET /peer HTTP/1.1\nHost: x")).body)
        await raw.close()
    assert len(ports) == 1  # one node connection served all six requests


async def test_connection_close_from_the_client_is_honoured(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    response = await raw.exchange("GET /bye HTTP/1.1\nHost: x\nConnection: close")
    assert response.status == 200 and response.get("Connection") == ["close"]
    assert await closed_by_peer(raw)
    await raw.close()
    assert "connection" not in {name.lower() for name in nodes[0].seen[0].headers} or (
        nodes[0].seen[0].headers["Connection"].lower() == "keep-alive"
    )  # the client's close is hop-by-hop: the node connection stays alive


async def test_http10_clients_get_close_or_keep_alive_as_they_ask(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    kept = await raw.exchange("GET /a HTTP/1.0\nConnection: keep-alive")
    assert kept.status == 200 and kept.get("Connection") == ["keep-alive"]
    closed = await raw.exchange("GET /b HTTP/1.0")
    assert closed.status == 200 and closed.get("Connection") == ["close"]
    assert await closed_by_peer(raw)
    await raw.close()
    assert all(seen.headers["Host"] for seen in nodes[0].seen)  # HTTP/1.1 to the node: a Host is added


async def test_a_node_closing_its_connection_does_not_close_the_clients(scripted, start_balancer) -> None:
    node = await scripted(
        lambda head: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", close_after=True
    ).start()
    balancer = await start_balancer([node.url])
    raw = await RawHttp.connect(balancer.port)
    for _ in range(3):
        response = await raw.exchange("GET /x HTTP/1.1\nHost: x")
        assert (response.status, response.body, response.get("Connection")) == (200, b"ok", [])
    await raw.close()
    assert len(node.heads) == 3


async def test_chunked_and_length_less_bodies_are_reframed_for_the_client(scripted, start_balancer) -> None:
    # The node's chunk extension and trailer field are dropped: the client gets plain chunks.
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
    )
    node = await scripted(lambda head: chunked).start()
    until_close = await scripted(lambda head: b"HTTP/1.1 200 OK\r\n\r\nthe whole body", close_after=True).start()
    balancer = await start_balancer([node.url])
    raw = await RawHttp.connect(balancer.port)
    response = await raw.exchange("GET /chunked HTTP/1.1\nHost: x")
    assert response.get("Transfer-Encoding") == ["chunked"] and response.body == b"hello world"
    assert response.get("X-T") == []  # trailer fields are hop-by-hop
    balancer.set_upstreams([until_close.url])
    response = await raw.exchange("GET /until-close HTTP/1.1\nHost: x")
    assert response.get("Transfer-Encoding") == ["chunked"] and response.body == b"the whole body"
    again = await raw.exchange("GET /until-close HTTP/1.1\nHost: x")  # the client's connection stayed usable
    assert again.body == b"the whole body"
    await raw.close()
    raw = await RawHttp.connect(balancer.port)  # HTTP/1.0 cannot take chunks: the body ends with the connection
    old = await raw.exchange("GET /until-close HTTP/1.0")
    assert (old.get("Transfer-Encoding"), old.get("Connection"), old.body) == ([], ["close"], b"the whole body")
    await raw.close()


async def test_interim_answers_from_a_node_are_not_relayed(scripted, start_balancer) -> None:
    node = await scripted(
        lambda head: b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
    ).start()
    balancer = await start_balancer([node.url])
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await asyncio.wait_for(raw.reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200 ") and await raw.reader.readexactly(1) == b"x"
    await raw.close()


async def test_expect_100_continue_is_answered_by_the_balancer(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    assert await asyncio.wait_for(raw.reader.readuntil(b"\r\n\r\n"), 5) == b"HTTP/1.1 100 Continue\r\n\r\n"
    raw.writer.write(b"data")
    response = await raw.read_response()
    await raw.close()
    assert response.status == 200
    assert nodes[0].seen[0].body == b"data" and "Expect" not in nodes[0].seen[0].headers


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /ok HTTP/1.1\r\nHost: x\r\nX-" + MARKER.encode() + b" : bad\r\n\r\n",  # space before the colon
        b"GET /" + MARKER.encode() + b" HTTP/9.9\r\n\r\n",  # unknown version
        b"\x16\x03\x01\x02\x00\x01" + MARKER.encode() + b"\r\n\r\n",  # a TLS hello on the plain port
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00" + MARKER.encode() + b"\r\n\r\n",  # NUL in a header value
        b"GET http://[" + MARKER.encode() + b"/ HTTP/1.1\r\nHost: x\r\n\r\n",  # a target that is not a URL
    ],
)
async def test_a_malformed_request_gets_a_400_that_echoes_nothing(
    start_nodes, start_balancer, caplog, request_bytes: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(request_bytes)
    response = await raw.read_response()
    assert_bad_request(response)
    assert await closed_by_peer(raw)
    await raw.close()
    assert nodes[0].seen == []
    assert all(record.exc_info is None for record in caplog.records)
    assert MARKER not in caplog.text and "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: 6\r\nTransfer-Encoding: chunked",  # CL.TE
        "Transfer-Encoding: chunked\r\nContent-Length: 6",  # TE.CL
        "Content-Length: 6\r\nContent-Length: 11",  # two lengths
        "Content-Length: 6\r\nContent-Length: 6",  # a repeated length is refused too
        "Transfer-Encoding: chunked, identity",  # chunked not last
        "Transfer-Encoding: xchunked",  # an unknown coding
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
        "Content-Length: +6",  # not plain digits
        "Content-Length: 6, 6",
        "Transfer-Encoding:\x0bchunked",  # odd whitespace
    ],
)
async def test_request_smuggling_attempts_are_refused(start_nodes, start_balancer, framing: str) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    raw.writer.write(b"POST /front HTTP/1.1\r\nHost: x\r\n" + framing.encode() + b"\r\n\r\n0\r\n\r\n" + smuggled)
    response = await raw.read_response()
    assert_bad_request(response)
    assert await closed_by_peer(raw)
    await raw.close()
    assert nodes[0].seen == []  # neither request reached a node


async def test_an_oversized_head_is_refused_with_431(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
    for _ in range(40):  # 40 x 4 KiB header lines, never finished: the balancer must not keep collecting
        raw.writer.write(b"X-Filler: " + b"a" * 4096 + b"\r\n")
    await raw.writer.drain()
    response = await raw.read_response()
    assert_bad_request(response, 431, "request_head_too_large")
    await raw.close()
    assert nodes[0].seen == []


async def test_a_bad_request_after_a_good_one_is_answered_after_it(start_nodes, start_balancer) -> None:
    nodes = await start_nodes(1)
    balancer = await start_balancer(nodes)
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(b"GET /good HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n")
    good = await raw.read_response()
    assert good.status == 200 and json.loads(good.body)["path"] == "/good"
    assert_bad_request(await raw.read_response())
    await raw.close()


async def test_an_answer_before_the_whole_upload_keeps_the_client_connection(scripted, start_balancer) -> None:
    node = scripted(lambda head: b"HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n\r\nbig!", close_after=True)
    balancer = await start_balancer([(await node.start()).url])
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"a" * 1000)
    early = await raw.read_response()
    assert (early.status, early.body) == (413, b"big!")
    raw.writer.write(b"a" * 99000)  # the rest of the body is read and dropped by the balancer
    after = await raw.exchange("GET /next HTTP/1.1\nHost: x")
    assert (after.status, after.body) == (413, b"big!")
    await raw.close()
    assert [head.split(b" ")[1] for head in node.heads] == [b"/upload", b"/next"]


async def test_an_error_answer_keeps_the_client_connection(start_balancer) -> None:
    balancer = await start_balancer([f"http://127.0.0.1:{free_port()}"])
    await eventually(lambda: balancer.status()["healthy"] == 0)
    raw = await RawHttp.connect(balancer.port)
    raw.writer.write(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
    response = await raw.read_response()
    assert response.status == 503 and response.get("Connection") == []
    raw.writer.write(b"0123456789")  # the body of the refused request, read and dropped
    assert (await raw.exchange("GET /b HTTP/1.1\nHost: x")).status == 503
    await raw.close()


async def test_the_node_connection_cap_makes_requests_wait_not_fail(start_nodes, start_balancer, client) -> None:
    in_flight, peak = 0, 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.Response(text="done")

    nodes = await start_nodes(1, [web.get("/slow", slow)])
    balancer = await start_balancer(nodes, max_connections=2)
    session = client()

    async def fetch() -> int:
        async with session.get(balancer.url + "/slow") as response:
            await response.read()
            return response.status

    assert await asyncio.gather(*(fetch() for _ in range(8))) == [200] * 8
    assert peak <= 2  # never more than two node connections at once
    assert balancer.upstream(nodes[0].url)["in_flight"] == 0
