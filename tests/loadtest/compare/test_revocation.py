"""How a logout-all measurement is read: revoked, still usable at the bound, until expiry (cookie), or unclear."""

from __future__ import annotations

import re

from loadtest.compare.run.revocation import CONFIRM, Poll, explain, outcome


def test_only_a_run_of_refusals_proves_revocation() -> None:
    assert outcome("memory", Poll(polls=40, usable_answers=3, refusals_in_a_row=CONFIRM)) == "revoked"
    assert outcome("memory", Poll(polls=40, usable_answers=3, refusals_in_a_row=CONFIRM - 1)) == "bound"
    assert outcome("redis", Poll(polls=5, usable_answers=0, refusals_in_a_row=2)) == "unclear"  # errors only


def test_a_cookie_session_that_still_works_is_usable_until_it_expires() -> None:
    assert outcome("cookie", Poll(polls=20, usable_answers=20)) == "expiry"
    details = {"until": "expiry", "scope": "this client", "max_age_s": 1800}
    assert "1800 s unused" in explain("cookie", details) and "not revocable" in explain("cookie", details)


def test_a_memory_session_on_another_node_is_explained_by_where_it_lives() -> None:
    details = {"until": "bound", "scope": "this node", "bound_s": 5.0, "logout_node": "node-1",
               "last_usable_node": "node-2"}  # fmt: skip
    said = explain("memory", details)
    assert said.startswith("still usable") and re.findall(r"node-\d", said) == ["node-2", "node-1"]  # lives, logout
    assert "5 s after /logout-all" in said and "'this node'" in said
