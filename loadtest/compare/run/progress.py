"""What a long run shows and guarantees while it runs: progress lines, a log of every PID, Ctrl-C handled once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Progress:
    """Progress lines on stdout: cell k of n, time since the start, what is running."""

    total: int
    began: float = field(default_factory=time.monotonic)
    index: int = 0
    label: str = ""

    def say(self, text: str) -> None:
        seconds = int(time.monotonic() - self.began)
        print(f"[{self.index:>2}/{self.total} {seconds // 60:>2}:{seconds % 60:02d}] {text}", flush=True)


class PidLog:
    """Appends "name pid" for every process started, so anyone can check that none survived the run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def __call__(self, name: str, pid: int) -> None:
        with self.path.open("a") as file:
            file.write(f"{name} {pid}\n")


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM (like Ctrl-C) interrupts the run once; further signals are ignored while everything stops."""

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
