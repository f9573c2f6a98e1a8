"""Reading settings from the environment, once, with casts and one-line errors.

Shared by the node and the balancer settings: each reads its variables through an `Env` at start-up and
a bad value becomes a `SettingsError` whose message names the variable, the value and what is allowed.
"""

from __future__ import annotations

import builtins
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NoReturn, TypeVar

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line meant for the operator."""


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Variable:
    """One environment variable a settings object reads: its default and what it accepts, for `--help`."""

    name: builtins.str
    default: builtins.str
    allowed: builtins.str


class Env:
    """Typed access to environment variables; every failure names the variable and what it accepts.

    With a `catalog`, every read also records the variable, its default and what it accepts: `--help` is
    generated from the reads the settings make, so it never drifts from them."""

    def __init__(
        self,
        environ: Mapping[builtins.str, builtins.str] | None = None,
        catalog: dict[builtins.str, Variable] | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._catalog = catalog

    def _note(self, name: builtins.str, default: object, allowed: builtins.str) -> None:
        if self._catalog is not None and name not in self._catalog:
            self._catalog[name] = Variable(name, _shown(default), allowed)

    def raw(
        self, name: builtins.str, default: builtins.str = "unset", allowed: builtins.str = ""
    ) -> builtins.str | None:
        """The stripped value or None; `default` and `allowed` only describe the variable for `--help`."""
        self._note(name, default, allowed)
        value = self._environ.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    def str(self, name: builtins.str, default: builtins.str, allowed: builtins.str = "") -> builtins.str:
        self._note(name, default, allowed)
        value = self.raw(name)
        return default if value is None else value

    def required(self, name: builtins.str, allowed: builtins.str) -> builtins.str:
        self._note(name, "required", allowed)
        value = self.raw(name)
        if value is None:
            raise SettingsError(f"{name} is required but not set: expected {allowed}")
        return value

    def int(
        self,
        name: builtins.str,
        default: builtins.int,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int:
        return self._number(name, default, int, "an integer", minimum, maximum)

    def float(
        self,
        name: builtins.str,
        default: builtins.float,
        *,
        minimum: builtins.float | None = None,
        maximum: builtins.float | None = None,
    ) -> builtins.float:
        return self._number(name, default, float, "a number", minimum, maximum)

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        self._note(name, default, "0 or 1")
        value = self.raw(name)
        if value is None:
            return default
        lowered = value.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name}={value!r} is invalid: expected 0 or 1")

    def choice(self, name: builtins.str, default: builtins.str, choices: Sequence[builtins.str]) -> builtins.str:
        self._note(name, default, " | ".join(choices))
        value = self.str(name, default)
        if value not in choices:
            raise SettingsError(f"{name}={value!r} is invalid: expected one of {', '.join(choices)}")
        return value

    def parsed(
        self,
        name: builtins.str,
        default: T,
        parse: Callable[[builtins.str], T],
        allowed: builtins.str,
        redact: Callable[[builtins.str], builtins.str] = lambda text: text,
    ) -> T:
        """Apply `parse` to the value; any ValueError it raises becomes a SettingsError naming `allowed`.

        `redact` cleans the message of what must never be echoed (a password inside a URL, say).
        """
        self._note(name, default, allowed)
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            detail = f" ({exc})" if str(exc) else ""
            raise SettingsError(redact(f"{name}={value!r} is invalid: expected {allowed}{detail}")) from None

    def _number(
        self,
        name: builtins.str,
        default: T,
        cast: Callable[[builtins.str], T],
        kind: builtins.str,
        minimum: builtins.float | None,
        maximum: builtins.float | None,
    ) -> T:
        bounds = _bounds_text(minimum, maximum)
        self._note(name, default, f"{kind}{bounds}")
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = cast(value)
        except ValueError:
            raise SettingsError(f"{name}={value!r} is invalid: expected {kind}{bounds}") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):  # type: ignore[operator]
            raise SettingsError(f"{name}={value!r} is out of range: expected {kind}{bounds}")
        return number


def _shown(default: object) -> builtins.str:
    """A default as `--help` shows it: booleans as 0/1, sequences comma-joined, nothing as 'unset'."""
    if isinstance(default, builtins.bool):
        return "1" if default else "0"
    if isinstance(default, tuple | list):
        return ",".join(builtins.str(item) for item in default) or "unset"
    return builtins.str(default) if default not in (None, "") else "unset"


def _bounds_text(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def exit_with_settings_error(program: str, error: SettingsError) -> NoReturn:
    """Stop a service at start-up with one readable line on stderr (exit status 2), never a traceback."""
    print(f"{program}: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def without_url_passwords(text: builtins.str) -> builtins.str:
    """`redis://:hunter2@host` -> `redis://:***@host`: a malformed URL is shown, its password never."""
    return _URL_PASSWORD.sub(r"\1***@", text)
