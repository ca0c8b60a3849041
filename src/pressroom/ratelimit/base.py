"""Token buckets: what a rate-limit store can do. One file per backend, chosen in bootstrap."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    # Seconds until a token is available (when refused) / until the bucket is full again (when allowed).
    retry_after_s: float
    reset_s: float


class RateLimitStore(Protocol):
    name: str

    def take(self, bucket: str, per_minute: int, now: float) -> Decision:
        """Take one token from ``bucket`` (capacity ``per_minute``, refilled continuously)."""
        ...

    def take_in_order(self, buckets: Sequence[tuple[str, int]], now: float) -> list[Decision]:
        """``take`` from each (bucket, per_minute) in turn, stopping after the first refusal."""
        ...


def take_each(store: RateLimitStore, buckets: Sequence[tuple[str, int]], now: float) -> list[Decision]:
    """``take_in_order`` for stores with nothing to share between the takes."""
    decisions: list[Decision] = []
    for bucket, per_minute in buckets:
        decisions.append(store.take(bucket, per_minute, now))
        if not decisions[-1].allowed:
            break
    return decisions


def refill(tokens: float, updated_at: float, per_minute: int, now: float) -> float:
    rate = per_minute / 60.0
    return min(float(per_minute), tokens + max(0.0, now - updated_at) * rate)


def decide(tokens: float, per_minute: int) -> tuple[float, Decision]:
    """Given the refilled token count, take one if possible; return the new count and the decision."""
    rate = per_minute / 60.0
    if tokens >= 1.0:
        tokens -= 1.0
        reset = (per_minute - tokens) / rate
        return tokens, Decision(True, per_minute, math.floor(tokens), 0.0, reset)
    wait = (1.0 - tokens) / rate
    return tokens, Decision(False, per_minute, 0, wait, (per_minute - tokens) / rate)
