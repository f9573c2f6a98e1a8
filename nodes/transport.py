"""How a session reference travels: a cookie for browsers, the X-Session-Token header for app clients.

A request that carries the header is an app client: it gets its token back in the same header and never a
cookie. Before it has a token, an app client sends `X-Session-Token: new` (or an empty value, where its
HTTP library can send one). Any other request is a browser: it gets a cookie.
Both transports carry the same value, so every store works with both.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

NO_TOKEN_YET = "new"


@dataclass(frozen=True)
class Transport:
    cookie_name: str
    header_name: str
    secure: bool

    def uses_header(self, request: web.Request) -> bool:
        return self.header_name in request.headers

    def read(self, request: web.Request) -> str | None:
        """The session reference the client sent, or None."""
        if self.uses_header(request):
            value = request.headers[self.header_name].strip()
            if value.lower() == NO_TOKEN_YET:
                return None
        else:
            value = request.cookies.get(self.cookie_name, "")
        return value or None

    def send(self, request: web.Request, response: web.StreamResponse, value: str) -> None:
        """Give the client its (new or re-encrypted) session reference."""
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
        """Bytes that the cookie's name and attributes add to its value in a Set-Cookie header."""
        attributes = "; HttpOnly; Path=/; SameSite=Lax" + ("; Secure" if self.secure else "")
        return len(self.cookie_name) + 1 + len(attributes)
