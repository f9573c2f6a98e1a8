"""A loop on a daemon thread beside the load, from start() until stop() or its own end: what a scenario's probes
(a session probe around a store fault, a filler that fills a store) share."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Self


@dataclass
class BackgroundLoop:
    """Subclasses (dataclasses) write `_run`, which checks `stopping()` between steps."""

    join_timeout: float = field(default=3.0, kw_only=True)  # stop() waits this long for a step in flight
    _stop: threading.Event = field(default_factory=threading.Event, kw_only=True, repr=False)
    _thread: threading.Thread | None = field(default=None, kw_only=True, repr=False)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)

    def stopping(self, wait: float = 0.0) -> bool:
        """Whether stop() was called, waiting up to `wait` seconds for it (a paced loop's sleep)."""
        return self._stop.wait(wait) if wait > 0 else self._stop.is_set()

    def _run(self) -> None:
        raise NotImplementedError
