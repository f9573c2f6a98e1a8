"""The shell blocks of the README and docs/, as tests/test_docs.py reads them: fenced blocks, the runnable marker
before each, and the commands a block holds (continuation lines joined)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SHELL = ("sh", "bash", "shell", "console")
MARKER = re.compile(r"^<!-- runnable(?:: (?P<kind>[a-z-]+))? -->$")
FENCE = re.compile(r"^```(?P<info>[^`]*)$")
LINK = re.compile(r"\]\((?P<target>[^)\s#]+\.md)(?:#[^)]*)?\)")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its runnable marker (None: not marked) and its text."""

    path: Path
    line: int
    language: str
    runnable: str | None  # "" for a stand-alone block, "cluster" for one that needs `sessionlab cluster` running
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with the marker on the line before its fence (if any)."""
    found: list[Block] = []
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        marker = MARKER.match(lines[index - 1].strip()) if index else None
        runnable = (marker.group("kind") or "") if marker else None
        language = opening.group("info").split()[0] if opening.group("info").strip() else ""
        found.append(Block(path, index + 1, language, runnable, "\n".join(lines[index + 1 : end])))
        index = end + 1
    return found


def shell_blocks() -> list[Block]:
    return [block for path in doc_files() for block in blocks(path) if block.language in SHELL]


def commands(text: str) -> list[str]:
    """The command lines of a shell block: continuations joined, blank and comment-only lines dropped."""
    joined: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip() and not line.lstrip().startswith("#"):
            joined.append(line.strip())
    return joined


def links(path: Path) -> set[Path]:
    """The Markdown pages a page links to (relative links only), resolved."""
    return {(path.parent / match.group("target")).resolve() for match in LINK.finditer(path.read_text())}
