"""The probe's flag values as typed records, each parsed from its text with one clear error (ValueError).

Every record here is pure: no I/O, so the parsers are tested on their own and the sender, the results and
the report all import this module and it imports none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})  # RFC 9110: safe to repeat
BACKEND_SOURCES = ("header", "json", "cookie", "none")
METRICS = ("miss_rate", "p50_ms", "p99_ms", "error_rate", "repins")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")
_THRESHOLD = re.compile(r"^\s*([a-z0-9_]+)\s*(>=|<=|>|<)\s*([0-9.eE+-]+)\s*$")


def parse_seconds(text: str) -> float:
    """`20`, `20s`, `1.5s`, `2m`, `1m30s` -> seconds."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration (e.g. 20s, 1.5s, 2m, 1m30s)")
    minutes, seconds = match.groups()
    return float(minutes or 0) * 60 + float(seconds or 0)


def parse_target(text: str) -> str:
    """An http(s) URL with a host, without a trailing slash."""
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--target {text!r} is not an http:// or https:// URL with a host")
    return text.rstrip("/")


@dataclass(frozen=True)
class Endpoint:
    """One request the probe makes: `POST /login`."""

    method: str
    path: str

    @classmethod
    def parse(cls, text: str, flag: str) -> Endpoint:
        method, _, path = text.strip().partition(" ")
        method, path = method.upper(), path.strip()
        if method not in METHODS or not path.startswith("/"):
            raise ValueError(f"{flag} {text!r}: expected 'METHOD /path', e.g. 'POST /login'")
        return cls(method, path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class BackendId:
    """Where an answer names the backend that made it: a header, a JSON field, a balancer cookie, or nowhere."""

    source: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> BackendId:
        source, _, name = text.partition(":")
        if source == "none" and not name:
            return cls("none")
        if source not in BACKEND_SOURCES or not name:
            raise ValueError(f"--backend-id {text!r}: expected header:NAME, json:FIELD, cookie:NAME or none")
        return cls(source, name)

    def __str__(self) -> str:
        return self.source if self.source == "none" else f"{self.source}:{self.name}"


@dataclass(frozen=True)
class Rule:
    """`status:401` or `redirect:/login`: how an answer shows the session was seen (or missed)."""

    kind: str
    status: int = 0
    path: str = ""

    @classmethod
    def parse(cls, text: str, flag: str) -> Rule:
        kind, _, value = text.partition(":")
        if kind == "status" and value.isdigit() and 100 <= int(value) <= 599:
            return cls("status", status=int(value))
        if kind == "redirect" and value.startswith("/"):
            return cls("redirect", path=value)
        raise ValueError(f"{flag} {text!r}: expected status:CODE (e.g. status:401) or redirect:/path")

    def matches(self, status: int, location_path: str | None) -> bool:
        if self.kind == "status":
            return status == self.status
        return 300 <= status < 400 and location_path is not None and location_path.startswith(self.path)

    def __str__(self) -> str:
        return f"status:{self.status}" if self.kind == "status" else f"redirect:{self.path}"


@dataclass(frozen=True)
class Event:
    """`30s: kubectl rollout restart deploy/web`: a shell command run that long after the load starts."""

    at: float
    command: str

    @classmethod
    def parse(cls, text: str) -> Event:
        when, sep, command = text.partition(":")
        if not sep or not command.strip():
            raise ValueError(f"--event {text!r}: expected 'TIME: command', e.g. '30s: ./restart-web.sh'")
        try:
            return cls(parse_seconds(when), command.strip())
        except ValueError as error:
            raise ValueError(f"--event {text!r}: {error}") from None


@dataclass(frozen=True)
class Threshold:
    """`miss_rate>0.01`: a figure of results.json and a limit that makes the command fail when crossed."""

    metric: str
    op: str
    limit: float

    @classmethod
    def parse(cls, text: str) -> Threshold:
        match = _THRESHOLD.match(text)
        if not match or match.group(1) not in METRICS:
            raise ValueError(f"--fail-on {text!r}: expected METRIC>LIMIT with METRIC one of {', '.join(METRICS)}")
        try:
            return cls(match.group(1), match.group(2), float(match.group(3)))
        except ValueError:
            raise ValueError(f"--fail-on {text!r}: {match.group(3)!r} is not a number") from None

    def crossed(self, value: float | None) -> bool:
        """Whether `value` crosses the limit (a figure that could not be measured never does)."""
        if value is None:
            return False
        return {">": value > self.limit, ">=": value >= self.limit, "<": value < self.limit, "<=": value <= self.limit}[
            self.op
        ]

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.limit:g}"
