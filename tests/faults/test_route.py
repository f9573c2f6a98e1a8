"""BALANCER_ROUTING=route through the real balancer and real node processes (SESSION_ROUTE_TAG on every node):
browser users (cookie) and app users (X-Session-Token header only, no cookies) stay on the node that tagged their
reference, and move to a survivor when that node dies — with replicated sessions, without a single miss."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie

from loadtest.lab.probe import Answer, request
from nodes.contract.names import NODE_ID_HEADER, ROUTE_SEPARATOR, SESSION_COOKIE, TOKEN_HEADER
from tests.faults.conftest import ClusterFactory


def header(answer: Answer, name: str) -> str | None:
    return next((value for key, value in answer.headers.items() if key.lower() == name.lower()), None)


@dataclass
class User:
    """A client that keeps its session reference the way a browser (cookie) or an app (header) does."""

    base: str
    kind: str
    reference: str = ""
    counter: int = 0

    def call(self, method: str, path: str, body: object = None) -> Answer:
        if self.kind == "app":
            sent = {TOKEN_HEADER: self.reference or "new"}
        else:
            sent = {"Cookie": f"{SESSION_COOKIE}={self.reference}"} if self.reference else {}
        answer = request(method, self.base + path, json_body=body, headers=sent, timeout=5.0)
        self._remember(answer)
        return answer

    def _remember(self, answer: Answer) -> None:
        if self.kind == "app":
            self.reference = header(answer, TOKEN_HEADER) or self.reference
            return
        cookie = SimpleCookie(header(answer, "Set-Cookie") or "")
        if SESSION_COOKIE in cookie:
            self.reference = cookie[SESSION_COOKIE].value

    def increment(self) -> str:
        """POST /counter; asserts no miss (200 and the counter one up) and returns the node that answered."""
        answer = self.call("POST", "/counter")
        assert answer.status == 200, (answer.status, answer.body[:200])
        self.counter += 1
        assert answer.json()["counter"] == self.counter  # a counter that went back would be a stale copy
        return str(header(answer, NODE_ID_HEADER))

    @property
    def tag(self) -> str:
        return self.reference.partition(ROUTE_SEPARATOR)[2]


def test_route_pins_browsers_and_apps_and_redispatches_to_a_replica_without_a_miss(
    start_cluster: ClusterFactory,
) -> None:
    cluster = start_cluster(nodes=3, routing="route", store="replicated", replication="all-sync")
    users = [User(cluster.url, kind) for kind in ("app", "browser") for _ in range(6)]
    for index, user in enumerate(users):
        login = user.call("POST", "/login", {"user": f"{user.kind}-{index}"})
        assert login.status == 200 and user.tag == header(login, NODE_ID_HEADER), user.reference
    for user in users:
        assert {user.increment() for _ in range(4)} == {user.tag}  # every request on the node that tagged it
    victim = users[0].tag
    cluster.kill_node(next(i for i, m in enumerate(cluster.nodes) if m.name == victim))
    assert cluster.wait_ejected(victim, timeout=10.0)
    for user in users:
        before = user.tag
        served = user.increment()  # the dead node's users: redispatched to a survivor holding the copy
        assert served != victim and user.tag == served
        assert {user.increment() for _ in range(3)} == {served}  # pinned to the survivor from then on
        assert before == victim or served == before  # everyone else stays where they were
    assert sum(user.tag != victim for user in users) == len(users)


def test_route_with_memory_costs_the_dead_nodes_users_one_miss_each(start_cluster: ClusterFactory) -> None:
    cluster = start_cluster(nodes=2, routing="route", store="memory")
    users = [User(cluster.url, kind) for kind in ("app", "browser") for _ in range(4)]
    for index, user in enumerate(users):
        assert user.call("POST", "/login", {"user": f"{user.kind}-{index}"}).status == 200
        assert {user.increment() for _ in range(3)} == {user.tag}  # pinned: memory sessions never miss
    victim = users[0].tag
    cluster.kill_node(next(i for i, m in enumerate(cluster.nodes) if m.name == victim))
    assert cluster.wait_ejected(victim, timeout=10.0)
    for index, user in enumerate(users):
        if user.tag != victim:
            assert user.increment() == user.tag
            continue
        assert user.call("POST", "/counter").status == 401  # the one miss: its session died with the node
        user.counter = 0
        assert user.call("POST", "/login", {"user": f"again-{index}"}).status == 200
        assert {user.increment() for _ in range(3)} == {user.tag} != {victim}
