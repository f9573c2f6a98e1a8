"""Sessions written on purpose around a store fault, then counted: which survived the restart or the failover.

The probe is an app client (the session token travels in X-Session-Token, no cookie jar). While it runs it logs
in again and again through the balancer, keeping every session a node acknowledged with a 200 and when; after
the fault, `missing()` asks for each and counts the 401s. It also times the fault as users see it: the first
refused store write after the kill and the first good one after it (`outage_s`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from loadtest.lab.background import BackgroundLoop
from loadtest.lab.probe import Answer, request
from nodes.contract.names import NO_TOKEN_YET, TOKEN_HEADER

TIMEOUT = 2.0


def app_login(url: str, user: str, timeout: float = TIMEOUT) -> tuple[Answer, str]:
    """POST /login through `url` as an app client (a token in a header, no cookies): the answer and its token ("" when
    it carries none; the header's name in any case, as HAProxy sends names in lower case)."""
    answer = request("POST", url + "/login", json_body={"user": user}, headers={TOKEN_HEADER: NO_TOKEN_YET},
                     timeout=timeout)  # fmt: skip
    return answer, answer.header(TOKEN_HEADER) or ""


@dataclass
class SessionProbe(BackgroundLoop):
    """Logs in in a loop through `url` from start() until stop(); keeps the acknowledged sessions."""

    url: str
    sessions: list[tuple[float, str]] = field(default_factory=list)  # (acknowledged at, token)
    failures: list[float] = field(default_factory=list)  # when a login got no 200
    goods: list[float] = field(default_factory=list)

    def _run(self) -> None:
        while not self.stopping():
            answer, token = app_login(self.url, "probe")
            now = time.monotonic()
            if answer.status == 200 and token:
                self.sessions.append((now, token))
                self.goods.append(now)
            else:
                self.failures.append(now)
                self.stopping(0.01)

    def outage_s(self, since: float) -> float | None:
        """From the first failed login after `since` to the first good one after that; 0 when none failed."""
        first_failed = next((t for t in self.failures if t >= since), None)
        if first_failed is None:
            return 0.0
        first_good = next((t for t in self.goods if t > first_failed), None)
        return None if first_good is None else round(first_good - first_failed, 3)

    def written_before(self, moment: float) -> list[str]:
        return [token for at, token in self.sessions if at <= moment]

    def missing(self, tokens: list[str]) -> int:
        """How many of `tokens` the cluster no longer knows (401 on GET /me)."""
        statuses = [request("GET", self.url + "/me", headers={TOKEN_HEADER: t}, timeout=TIMEOUT).status for t in tokens]
        return sum(status == 401 for status in statuses)
