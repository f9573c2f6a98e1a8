"""The one way every plug-in point registers its plug-ins: routing policies, stores, scenarios, figures, commands.

A plug-in point's package lists its plug-ins explicitly, in order, in one `Registry` (no import side effects,
no decorators): the list is the documentation of what exists, and its order is the order users see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Protocol, TypeVar

T = TypeVar("T")
N = TypeVar("N", bound="Named")


class Named(Protocol):
    """A plug-in that knows the name users select it by (the value of its environment variable or option)."""

    name: str


class UnknownName(KeyError, ValueError):
    """A name no plug-in has: one readable line that lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Mapping[str, T]):
    """Plug-ins of one kind by name, in the order they were listed; a name listed twice is a programming error."""

    def __init__(self, kind: str, entries: Iterable[tuple[str, T]]) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        for name, entry in entries:
            if name in self._entries:
                raise ValueError(f"{kind} {name!r} is registered twice")
            self._entries[name] = entry

    @classmethod
    def of_named(cls, kind: str, plugins: Iterable[N]) -> Registry[N]:
        """A registry of plug-ins that carry their own `name`."""
        return Registry(kind, ((plugin.name, plugin) for plugin in plugins))

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownName(f"unknown {self.kind} {name!r}: expected one of {', '.join(self._entries)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
