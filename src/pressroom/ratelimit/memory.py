"""In-process buckets: for a single node or tests; not shared between processes."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from pressroom.ratelimit.base import Decision, decide, refill, take_each


class MemoryRateLimitStore:
    name = "memory"

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, bucket: str, per_minute: int, now: float) -> Decision:
        with self._lock:
            tokens, updated = self._buckets.get(bucket, (float(per_minute), now))
            tokens, decision = decide(refill(tokens, updated, per_minute, now), per_minute)
            self._buckets[bucket] = (tokens, now)
            return decision

    def take_in_order(self, buckets: Sequence[tuple[str, int]], now: float) -> list[Decision]:
        return take_each(self, buckets, now)
