"""Reading the report's sentences back as data, so tests assert what a sentence conveys (which choice, which
numbers) and a few key phrases, not its exact wording."""

from __future__ import annotations

import re

PAIR = re.compile(r"(\w+) \+ (\w+)")
NUMBER = r"([\d,]+(?:\.\d+)?)"


def pairs(text: str) -> list[tuple[str, str]]:
    """Every `store + routing` a text names, in order."""
    return [(store, routing) for store, routing in PAIR.findall(text)]


def numbers(pattern: str, text: str) -> list[tuple[float, ...]]:
    """Each match of `pattern` (NUMBER for each number group) as a tuple of floats ("2,600" -> 2600.0)."""
    found = re.findall(pattern.replace("#", NUMBER), text)
    rows = [match if isinstance(match, tuple) else (match,) for match in found]
    return [tuple(float(value.replace(",", "")) for value in row) for row in rows]


def line_starting(lines: list[str], start: str) -> str:
    """The one line that starts with `start`."""
    [line] = [line for line in lines if line.startswith(start)]
    return line
