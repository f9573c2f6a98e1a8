"""How a session reference travels: a cookie for browsers, the X-Session-Token header for app clients.

A request that carries the header is an app client: it gets its token back in the same header and never a
cookie. Before it has a token, an app client sends `X-Session-Token: new` (or an empty value, where its
HTTP library can send one). Any other request is a browser: it gets a cookie.
Both transports carry the same value, so every store works with both.

Route tags (Tomcat's jvmRoute, SESSION_ROUTE_TAG): a node with a `route` sends `<reference>.<route>`, so a
balancer can route on it. Whatever tag a client's reference carries, `read` strips it: the tag is for
routing only, and the store sees (and validates) the bare reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from nodes.contract.names import NO_TOKEN_YET, ROUTE_SEPARATOR


@dataclass(frozen=True)
class Transport:
    cookie_name: str
    header_name: str
    secure: bool
    route: str | None = None  # this node's id when it tags the references it issues

    def uses_header(self, request: web.Request) -> bool:
        return self.header_name in request.headers

    def read(self, request: web.Request) -> str | None:
        """The session reference the client sent, without its route tag, or None."""
        reference = self._raw(request).partition(ROUTE_SEPARATOR)[0]
        if self.uses_header(request) and reference.lower() == NO_TOKEN_YET:
            return None
        return reference or None

    def route_of(self, request: web.Request) -> str | None:
        """The route tag on the client's reference, or None when it carries none."""
        _, separator, route = self._raw(request).partition(ROUTE_SEPARATOR)
        return route if separator else None

    def needs_new_route(self, request: web.Request) -> bool:
        """Whether this node tags references and the client's names another node (or none)."""
        return self.route is not None and self.route_of(request) != self.route

    def send(self, request: web.Request, response: web.StreamResponse, reference: str) -> None:
        """Give the client its (new, re-encrypted or re-tagged) session reference."""
        value = reference if self.route is None else f"{reference}{ROUTE_SEPARATOR}{self.route}"
        if self.uses_header(request):
            response.headers[self.header_name] = value
        else:
            # No Max-Age: a browser-session cookie. The idle timeout is enforced on the server side (or, for the
            # cookie store, inside the encrypted value), so it slides without re-sending the cookie.
            response.set_cookie(
                self.cookie_name, value, path="/", httponly=True, samesite="Lax", secure=self.secure or None
            )

    def clear(self, request: web.Request, response: web.StreamResponse) -> None:
        """Tell the client to forget its session reference."""
        if self.uses_header(request):
            response.headers[self.header_name] = ""
        else:
            response.del_cookie(self.cookie_name, path="/", secure=self.secure or None, samesite="Lax")

    def cookie_overhead(self) -> int:
        """Bytes that the cookie's name, route tag and attributes add to a reference in a Set-Cookie header."""
        attributes = "; HttpOnly; Path=/; SameSite=Lax" + ("; Secure" if self.secure else "")
        tag = 0 if self.route is None else len(ROUTE_SEPARATOR) + len(self.route)
        return len(self.cookie_name) + 1 + tag + len(attributes)

    def _raw(self, request: web.Request) -> str:
        if self.uses_header(request):
            return request.headers[self.header_name].strip()
        return request.cookies.get(self.cookie_name, "")
