"""What the session's own life should measure (issue 23), from the cell's knobs alone: each measure's theory as
bounds [low, high] on a count, with the sentence that derives them, or "not modelled" with the reason.

The idle-gap theory follows the three lifetimes: the session's TTL (SESSION_TTL, refreshed as SESSION_TOUCH says),
the balancer's affinity lifetime (BALANCER_STICKY_TTL, the sticky cookie's Max-Age) and the user's idle gap. A
lifetime is exact (the nodes and Redis count it), the gap is a sleep, so a margin of MARGIN_S either side is left
to the machine: a gap that close to a lifetime is "too close to call" and not judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from loadtest.compare.spec import SessionKnobs
from loadtest.users.pacing import WAIT_MAX_S
from nodes.contract.names import (
    COOKIE,
    COOKIE_LIMIT_BYTES,
    DEFAULT_MAX_AGE,
    HASH,
    MEMORY,
    REDIS,
    REPLICATED_STORE,
    ROUTE,
    SAVE_ALWAYS,
    STICKY,
    TOUCH_ALWAYS,
    TOUCH_LAZY_PREFIX,
    default_touch,
)

MARGIN_S = 0.5  # a gap within this of a lifetime is not judged (a loaded 2-core machine sleeps late)
PLACEMENT_MISSES = 0.5  # expected placement misses from which an expiry cannot be told from a miss
NOT_MODELLED = "not modelled"
# A padded session's cookie: Fernet (version, timestamp, IV and HMAC: 57 bytes, plus the JSON padded to whole AES
# blocks), url-safe base64 (x 4/3, padded), then the cookie's name and attributes. The pad's size decides it but for
# the session's other fields (user, counter, cart, timestamps, ids: OTHER_JSON bytes) and the attributes (Secure, a
# route tag: OVERHEAD). So a pad of REFUSED_KB or more never fits, one of FITS_KB or less always does, and between
# them the rest of the session decides: measured, not judged.
FERNET_FIXED, AES_BLOCK = 57, 16
OTHER_JSON = (60, 400)  # bytes of JSON beside the pad, fewest and most a lab session holds
OVERHEAD = (
    len("SL_SESSION=; HttpOnly; Path=/; SameSite=Lax"),
    len("SL_SESSION=; HttpOnly; Path=/; SameSite=Lax; Secure") + 12,
)


def cookie_bytes(plain_json: int, overhead: int) -> int:
    """The Set-Cookie name, value and attributes of a session whose JSON is `plain_json` bytes."""
    encrypted = FERNET_FIXED + AES_BLOCK * (plain_json // AES_BLOCK + 1)
    return 4 * math.ceil(encrypted / 3) + overhead


def _largest_pad(other: int, overhead: int) -> int:
    pad = 0
    while cookie_bytes(pad + 1 + other, overhead) <= COOKIE_LIMIT_BYTES:
        pad += 1
    return pad


REFUSED_KB = (_largest_pad(OTHER_JSON[0], OVERHEAD[0]) + 1) / 1024  # the smallest pad no session can carry
FITS_KB = _largest_pad(OTHER_JSON[1], OVERHEAD[1]) / 1024  # the largest pad every session can carry
COOKIE_LIMIT_TEXT = f"~{REFUSED_KB:.1f} KB"  # as the report says it


@dataclass(frozen=True)
class Bounds:
    """A count's theory: within [low, high] (high None: no upper bound), or not judged (`judged` False)."""

    low: float
    high: float | None
    explanation: str
    judged: bool = True

    def agrees(self, measured: float | None) -> bool | None:
        if not self.judged or measured is None:
            return None
        return self.low - 1e-9 <= measured <= (math.inf if self.high is None else self.high + 1e-9)

    @property
    def text(self) -> str:
        if not self.judged:
            return f"{NOT_MODELLED}: {self.explanation}"
        return f"{self.explanation} (theory {_range(self.low, self.high)})"


def not_modelled(why: str) -> Bounds:
    return Bounds(0.0, None, why, judged=False)


def _range(low: float, high: float | None) -> str:
    if high is None:
        return f">= {_number(low)}"
    return _number(low) if abs(high - low) < 1e-9 else f"{_number(low)}..{_number(high)}"


def _number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.3g}"


def ttl_s(knobs: SessionKnobs) -> int:
    """The session's idle lifetime as the nodes run it (scaled when given; the nodes' default otherwise)."""
    return DEFAULT_MAX_AGE if knobs.session_ttl is None else knobs.scaled(knobs.session_ttl)


def touch_policy(knobs: SessionKnobs, store: str) -> str:
    """SESSION_TOUCH as the nodes run it, scaled: the cell's, else the store's default (server-side stores slide on
    every read, the cookie store re-issues its value at most every min(60, TTL/10) s)."""
    if knobs.touch is None:
        return default_touch(store, ttl_s(knobs))
    lazy = knobs.lazy_interval
    return knobs.touch if lazy is None else f"{TOUCH_LAZY_PREFIX}{knobs.scaled(lazy)}"


def refresh_age_s(knobs: SessionKnobs, store: str) -> float | None:
    """How old the session's last refresh can be at a request: 0 when every request refreshes it (touch or save
    always), the lazy interval for lazy touch, None (unbounded: the last write) when only a change refreshes it."""
    policy = touch_policy(knobs, store)
    if policy == TOUCH_ALWAYS or knobs.save == SAVE_ALWAYS:
        return 0.0
    if policy.startswith(TOUCH_LAZY_PREFIX):
        return float(policy.removeprefix(TOUCH_LAZY_PREFIX))
    return None


def expired_after_idle(knobs: SessionKnobs, store: str, gaps: int) -> Bounds:
    """Gaps after which the session was gone: all when the gap outlasts the TTL, none when the TTL outlasts the gap
    plus the oldest refresh; between, as many as had their last refresh long enough ago."""
    gap, ttl, age = knobs.gap_s, ttl_s(knobs), refresh_age_s(knobs, store)
    if gaps == 0 or gap <= 0:
        return Bounds(0, 0, "no idle gap was taken: nothing can expire after one")
    if gap > ttl + MARGIN_S:
        return Bounds(gaps, gaps, f"the {gap:g} s gap outlasts the {ttl} s TTL: every session is gone after it")
    if age is not None and gap + age + WAIT_MAX_S < ttl - MARGIN_S:
        how = "every request refreshes it" if age == 0 else f"a lazy touch refreshed it at most {age:g} s before"
        return Bounds(0, 0, f"the {gap:g} s gap stays under the {ttl} s TTL and {how}: none expires")
    if age is None and gap < ttl - MARGIN_S:
        return Bounds(0, gaps, f"the {gap:g} s gap is under the {ttl} s TTL, but only a change refreshes the "
                      "session: a user whose last write came long before the gap may find it gone")  # fmt: skip
    return not_modelled(f"the {gap:g} s gap is within {MARGIN_S:g} s of the {ttl} s TTL (plus its refresh age): "
                        "too close to call")  # fmt: skip


def expired_while_active(knobs: SessionKnobs, store: str, routing_misses_expected: float) -> Bounds:
    """Misses of users who had not paused: zero when every request refreshes the TTL (a think time is at most
    WAIT_MAX_S, a lifetime at least 1 s) or a lazy refresh plus a think time stays under it."""
    if knobs.gap_s <= 0 and knobs.session_ttl is None and knobs.touch is None and knobs.save is None:
        return not_modelled("no idle gap or lifetime knob in this cell: its misses are the miss rate's to judge")
    if routing_misses_expected >= PLACEMENT_MISSES:
        return not_modelled("this routing and store miss by placement too: an expiry cannot be told from a miss")
    ttl, age = ttl_s(knobs), refresh_age_s(knobs, store)
    if age is None:
        return not_modelled(f"only a change refreshes the {ttl} s TTL: a run of reads (and a pause before it) longer "
                            "than it expires an active user; how often depends on the task mix")  # fmt: skip
    if age + WAIT_MAX_S < ttl - MARGIN_S:
        return Bounds(0, 0, f"a refresh at most {age:g} s old plus a {WAIT_MAX_S:g} s think time stays under the "
                      f"{ttl} s TTL: no active user's session expires")  # fmt: skip
    return not_modelled(f"the lazy interval {age:g} s leaves no room under the {ttl} s TTL")


def moved_after_idle(knobs: SessionKnobs, routing: str, kind: str, nodes: int, gaps: int) -> Bounds:
    """Users placed on another node by their first request after a pause: only a lapsed affinity cookie (sticky
    browsers) or a changed reference moves a pinned user; spread routings move users on any request."""
    if gaps == 0:
        return Bounds(0, 0, "no idle gap was taken")
    if routing in (HASH, ROUTE):
        return Bounds(0, 0, f"{routing} places by the session reference, which a pause does not change")
    if routing != STICKY or kind != "browser":
        return not_modelled(f"{routing} routing does not pin {kind} users: any request may land elsewhere")
    if knobs.sticky_ttl is None:
        return Bounds(0, 0, "the affinity cookie lives as long as the browser session: a pause keeps it")
    sticky, gap = knobs.scaled(knobs.sticky_ttl), knobs.gap_s
    if gap < sticky - MARGIN_S:
        return Bounds(0, 0, f"the {gap:g} s gap stays under the affinity cookie's {sticky} s Max-Age")
    if gap > sticky + MARGIN_S:
        share = (nodes - 1) / nodes
        spread = 3 * math.sqrt(gaps * share * (1 - share))
        return Bounds(max(gaps * share - spread, 0), gaps * share + spread,
                      f"the {gap:g} s gap outlasts the affinity cookie's {sticky} s Max-Age: each pause places the "
                      f"user anew, on another of {nodes} nodes with p = {share:.2f} (3 sigma)")  # fmt: skip
    return not_modelled(f"the {gap:g} s gap is within {MARGIN_S:g} s of the {sticky} s Max-Age")


def cookie_refused(knobs: SessionKnobs, store: str, logins: int) -> Bounds:
    """Logins answered 413: the cookie store refuses a session its cookie cannot hold, every time; others never."""
    kb = knobs.session_kb
    if store != COOKIE:
        return Bounds(0, 0, f"a {store} session lives on the server: its size is never refused")
    if kb >= REFUSED_KB:
        return Bounds(logins, logins, f"a {kb:g} KB session cannot fit a {COOKIE_LIMIT_BYTES}-byte cookie: every "
                      f"login is refused with 413 (cookie: not possible above {COOKIE_LIMIT_TEXT})")  # fmt: skip
    if kb <= FITS_KB:
        return Bounds(0, 0, f"a {kb:g} KB session fits a {COOKIE_LIMIT_BYTES}-byte cookie once encrypted and encoded")
    return not_modelled(f"{kb:g} KB: whether the encrypted, encoded session fits {COOKIE_LIMIT_BYTES} bytes "
                        "depends on what else it holds")  # fmt: skip


def store_writes_per_request(knobs: SessionKnobs, store: str, write_share: float, logins_share: float) -> Bounds:
    """Store writes and touches per request: about one where every request that finds the session writes or
    touches it (save or touch `always`, the server-side stores' default), at most the changing requests' share
    with on-change (a login writes the session and may write the user's index), unbounded per request with a lazy
    touch (judged as touches per session instead)."""
    if store not in (MEMORY, REDIS, COOKIE):
        return not_modelled(f"the {store} store's copies write more than once per change")
    changing = write_share + 2 * logins_share
    policy = touch_policy(knobs, store)
    touch = 1.0 if policy == TOUCH_ALWAYS else 0.0
    if knobs.save == SAVE_ALWAYS:
        return Bounds(0.5, 1 + touch + 2 * logins_share + 0.05, "save always: every request that finds its session "
                      "writes it" + (", and its read touches it" if touch else "") + " (a miss finds none: the "
                      "floor is 0.5)")  # fmt: skip
    if touch:
        return Bounds(0.5, 1 + changing + 0.05, f"touch always: every read that finds the session touches it, and "
                      f"the {changing:.2f} per request that change it write it too")  # fmt: skip
    if policy.startswith(TOUCH_LAZY_PREFIX):
        return not_modelled(f"on-change writes ({changing:.2f} per request) plus one touch per session per lazy "
                            "interval: judged as touches per session (store_touches)")  # fmt: skip
    return Bounds(0, changing + 0.05, f"only requests that change the session write it ({changing:.2f} per "
                  "request, a login counted twice: the session and the user's index)")  # fmt: skip


def lazy_touches(knobs: SessionKnobs, store: str, sessions: int, elapsed_s: float) -> Bounds:
    """A lazy touch writes at most once per interval per session (the key's own TTL is the clock on every node):
    touches <= sessions x (elapsed / s + 1)."""
    policy = touch_policy(knobs, store)
    if not policy.startswith(TOUCH_LAZY_PREFIX) or knobs.save == SAVE_ALWAYS:
        return not_modelled("SESSION_TOUCH is not lazy")
    every = float(policy.removeprefix(TOUCH_LAZY_PREFIX))
    high = sessions * (elapsed_s / every + 1)
    return Bounds(0, high, f"{sessions} sessions touched at most once every {every:g} s over {elapsed_s:.0f} s")


def evicted(eviction: str | None, store: str) -> Bounds:
    """Sessions Redis evicted: none with noeviction (it refuses writes instead), some once past maxmemory with an
    LRU policy (the run goes past it), none for stores that keep nothing in Redis."""
    if store != REDIS:
        return Bounds(0, 0, f"the {store} store keeps no session in Redis")
    if eviction == "noeviction":
        return Bounds(0, 0, "noeviction never drops a key: past maxmemory Redis refuses writes instead")
    return Bounds(1, None, f"{eviction} drops least recently used keys once past maxmemory, live sessions included")


def logins_refused(eviction: str | None, store: str) -> Bounds:
    """Logins refused with 503: past maxmemory with noeviction, some; with an LRU policy or another store, none."""
    if store == REDIS and eviction == "noeviction":
        return Bounds(1, None, "past maxmemory noeviction refuses the write of a new session: a 503, not a 500")
    return Bounds(0, 0, "no write is refused: " + ("an LRU policy makes room" if store == REDIS else
                                                    f"the {store} store does not use Redis"))  # fmt: skip


def forced_relogins(compat: str | None, store: str, users: int) -> Bounds:
    """Re-logins forced by the schema change, for sticky browsers in a drained rolling deploy: migrate none (a v2
    node reads v1 and writes v2; a browser leaves a node only when it leaves, and v2 nodes do not); reject exactly
    one per user. Memory sessions never cross nodes: the restarts' churn theory judges them."""
    if store == MEMORY:
        return not_modelled("memory sessions never reach a node of the other version; the deploy's churn theory "
                            "judges their misses")  # fmt: skip
    if compat == "reject":
        return Bounds(users, users, f"reject: each of {users} pinned users is logged out once, when its node leaves "
                      "and a v2 node reads its v1 session (it logs in again as v2 there and stays)")  # fmt: skip
    return Bounds(0, 0, "migrate: a v2 node reads a v1 session and writes it as v2, and a pinned user never goes "
                  "back to a v1 node: no one is logged out")  # fmt: skip


def schema_unreadable(probed: int) -> Bounds:
    """Rolling back: a v1 node reads none of the sessions a v2 node wrote, and says so (a new session, no 500)."""
    return Bounds(probed, probed, f"each of {probed} sessions a v2 node wrote is unreadable to a v1 node")


def revocation(store: str, denylist: bool) -> Bounds:
    """Nodes still serving a session after /logout: redis none (one shared copy, gone at once); a cookie every
    node until it expires, unless a deny-list is configured; memory: the node that held it, unless the logout
    reached that node."""
    if store == REDIS:
        return Bounds(0, 0, "redis: one shared copy, deleted by the logout: every node refuses it at once")
    if store == COOKIE and not denylist:
        return not_modelled("the client holds the encrypted session: every node accepts it until it expires")
    if store == COOKIE:
        return Bounds(0, 0, "the deny-list in Redis is read on every request: every node refuses it at once")
    if store == REPLICATED_STORE:
        return Bounds(0, 0, "replicated: the logout's delete is copied to every peer (asynchronous modes: within one "
                      "copy interval), so every node refuses it well within the bound")  # fmt: skip
    return not_modelled(f"{store}: the session lives where it was written; the logout reaches it only if routed there")
