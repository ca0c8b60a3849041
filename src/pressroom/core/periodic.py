"""Run a chore at most every N seconds when polled often (e.g. between jobs by a worker loop)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Periodic:
    def __init__(self, interval_s: float, chore: Callable[[], object]) -> None:
        self.interval_s = interval_s
        self.chore = chore
        self._next = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now < self._next:
                return
            self._next = now + self.interval_s
        self.chore()
