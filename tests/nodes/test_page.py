"""GET /: the HTML page that shows which node answered and whether it found the session; forms work without JS."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from aiohttp.test_utils import TestClient

from nodes.app import create_app
from nodes.contract.names import ROUTE_SEPARATOR, SESSION_COOKIE, STORES, TOKEN_HEADER
from nodes.keys import STORE
from nodes.settings import NodeSettings

# What Chromium sends when it navigates to a page.
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}


class Forms(HTMLParser):
    """The page's forms as a browser without JavaScript sees them: (method, action, field names)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, list[str]]] = []
        self.scripts = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append((str(found.get("method")), str(found.get("action")), []))
        elif tag == "input" and self.forms:
            self.forms[-1][2].append(str(found.get("name")))
        elif tag == "script" or (tag == "link" and found.get("rel") == "stylesheet"):
            self.scripts += 1


@pytest.fixture(params=STORES)
async def browser(request, aiohttp_client, secret, redis_url) -> TestClient:  # type: ignore[no-untyped-def]
    """A browser (the test client keeps cookies) talking to one node named node-1."""
    env = {"NODE_ID": "node-1", "SESSION_STORE": request.param, "SESSION_SECRET": secret, "REDIS_URL": redis_url}
    return await aiohttp_client(create_app(NodeSettings.from_env(env)))  # type: ignore[no-any-return]


async def page(browser: TestClient) -> str:
    response = await browser.get("/", headers=BROWSER)
    assert response.status == 200
    assert response.content_type == "text/html"
    return await response.text()


def main_element(html: str) -> tuple[str, str]:
    """(data-node, data-session) of the page's main element."""
    match = re.search(r'<main data-node="([^"]*)" data-session="([^"]*)">', html)
    assert match, html[:500]
    return match.group(1), match.group(2)


async def post_form(browser: TestClient, action: str, **fields: str) -> None:
    response = await browser.post(action, data=fields, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == "/"


def session_cookie(browser: TestClient) -> str:
    return next(cookie.value for cookie in browser.session.cookie_jar if cookie.key == SESSION_COOKIE)


async def test_without_a_session_the_page_says_missing_and_creates_none(browser) -> None:  # type: ignore[no-untyped-def]
    response = await browser.get("/", headers=BROWSER)
    assert main_element(await response.text()) == ("node-1", "missing")
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Node-Id"] == "node-1"


async def test_the_forms_log_in_increment_and_log_out_without_javascript(browser) -> None:  # type: ignore[no-untyped-def]
    forms = Forms(await page(browser))
    assert forms.scripts == 0
    assert forms.forms == [("post", "/page/login", ["user"])]
    await post_form(browser, "/page/login", user="ann")
    html = await page(browser)
    assert main_element(html) == ("node-1", "found")
    assert re.search(r'id="user">ann<', html) and re.search(r'id="counter">0<', html)
    actions = [action for method, action, _ in Forms(html).forms if method == "post"]
    assert actions == ["/page/counter", "/page/logout", "/page/logout-all", "/page/login"]
    await post_form(browser, "/page/counter")
    await post_form(browser, "/page/counter")
    assert re.search(r'id="counter">2<', await page(browser))
    assert (await (await browser.get("/me")).json())["counter"] == 2  # the same session as the JSON API's
    await post_form(browser, "/page/logout")
    assert main_element(await page(browser))[1] == "missing"


async def test_log_out_everywhere_ends_the_users_other_sessions(browser, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    other = await aiohttp_client(browser.server)  # a second browser on the same node
    await post_form(browser, "/page/login", user="ann")
    await post_form(other, "/page/login", user="ann")
    await post_form(browser, "/page/logout-all")
    assert main_element(await page(browser))[1] == "missing"
    reachable = browser.server.app[STORE].revocation_scope != "this client"  # cookie sessions cannot be revoked
    assert main_element(await page(other))[1] == ("missing" if reachable else "found")


async def test_a_user_name_with_html_is_escaped(browser) -> None:  # type: ignore[no-untyped-def]
    name = '<img src=x onerror="alert(1)">'
    await post_form(browser, "/page/login", user=name)
    html = await page(browser)
    assert "<img" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


async def test_the_page_never_shows_the_session_reference(browser) -> None:  # type: ignore[no-untyped-def]
    await post_form(browser, "/page/login", user="ann")
    reference = session_cookie(browser).partition(ROUTE_SEPARATOR)[0]
    html = await page(browser)
    assert main_element(html)[1] == "found"
    assert reference not in html and reference[:16] not in html
    token = (await browser.post("/login", json={"user": "bob"}, headers={TOKEN_HEADER: "new"})).headers[TOKEN_HEADER]
    html = await (await browser.get("/", headers={TOKEN_HEADER: token, **BROWSER})).text()
    assert re.search(r'id="user">bob<', html) and token not in html and token[:16] not in html


async def test_a_bad_name_redraws_the_page_with_the_reason(browser) -> None:  # type: ignore[no-untyped-def]
    response = await browser.post("/page/login", data={"user": "x" * 65}, allow_redirects=False)
    assert response.status == 400
    html = await response.text()
    assert main_element(html)[1] == "missing"
    assert "at most 64 printable characters" in html


async def test_buttons_without_a_session_just_come_back(browser) -> None:  # type: ignore[no-untyped-def]
    for action in ("/page/counter", "/page/logout", "/page/logout-all"):
        await post_form(browser, action)
    assert main_element(await page(browser))[1] == "missing"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html;q=0"])
async def test_a_client_that_does_not_ask_for_html_gets_json(browser, accept) -> None:  # type: ignore[no-untyped-def]
    headers = {"Accept": accept} if accept else {"Accept": ""}
    response = await browser.get("/", headers=headers)
    assert (response.status, response.content_type) == (200, "application/json")
    assert await response.json() == {"node": "node-1", "session": "missing"}
    await post_form(browser, "/page/login", user="ann")
    answer = await (await browser.get("/", headers=headers)).json()
    assert answer == {"node": "node-1", "session": "found", "user": "ann", "counter": 0}
