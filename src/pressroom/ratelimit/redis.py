"""Buckets in Redis: one atomic Lua script per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pressroom.ratelimit.base import Decision, take_each

# KEYS[1] bucket; ARGV: capacity, rate per second, now. Returns {allowed, tokens*1000}.
_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return {allowed, math.floor(tokens * 1000)}
"""


class RedisRateLimitStore:
    name = "redis"

    def __init__(self, url: str) -> None:
        import redis

        self._client: Any = redis.Redis.from_url(url)
        self._script = self._client.register_script(_SCRIPT)

    def take(self, bucket: str, per_minute: int, now: float) -> Decision:
        rate = per_minute / 60.0
        allowed, milli = self._script(keys=[f"pressroom:rl:{bucket}"], args=[per_minute, rate, now])
        tokens = int(milli) / 1000.0
        reset = (per_minute - tokens) / rate
        if int(allowed):
            return Decision(True, per_minute, int(tokens), 0.0, reset)
        return Decision(False, per_minute, 0, (1.0 - tokens) / rate, reset)

    def take_in_order(self, buckets: Sequence[tuple[str, int]], now: float) -> list[Decision]:
        return take_each(self, buckets, now)
