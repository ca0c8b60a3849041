"""Per-key and per-account rate limits from the plan (test keys have their own, tighter limit)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pressroom.config import BillingSettings
from pressroom.core.errors import RateLimitExceeded
from pressroom.core.principal import Principal
from pressroom.ratelimit.base import Decision, RateLimitStore

PLAN_CACHE_S = 30.0


class RateLimiter:
    def __init__(self, store: RateLimitStore, billing: BillingSettings, plan_of: Callable[[str], str]) -> None:
        self.store = store
        self.billing = billing
        self._plan_of = plan_of
        self._plans: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _plan(self, account_id: str, now: float) -> str:
        with self._lock:
            cached = self._plans.get(account_id)
        if cached and now - cached[1] < PLAN_CACHE_S:
            return cached[0]
        plan = self._plan_of(account_id)
        with self._lock:
            self._plans[account_id] = (plan, now)
        return plan

    def check(self, principal: Principal) -> Decision:
        """Take a token from the key's and the account's buckets; the tighter answer is reported."""
        now = time.time()
        plan = (
            self.billing.plans.get(self._plan(principal.account_id, now))
            or self.billing.plans[self.billing.default_plan]
        )
        key_limit = (
            self.billing.test_keys.requests_per_minute if principal.mode == "test" else plan.rate_limit_per_minute
        )
        buckets = [
            (f"key:{principal.key_id}", key_limit),
            (f"account:{principal.account_id}", plan.rate_limit_per_minute),
        ]
        decisions = self.store.take_in_order(buckets, now)
        for decision, scope in zip(decisions, ("key", "account"), strict=False):
            if not decision.allowed:
                raise self._refusal(decision, scope)
        key, account = decisions
        return key if key.remaining <= account.remaining else account

    @staticmethod
    def _refusal(decision: Decision, scope: str) -> RateLimitExceeded:
        retry = max(1, int(decision.retry_after_s + 0.999))
        return RateLimitExceeded(
            f"Rate limit of {decision.limit} requests per minute per {scope} exceeded; retry in {retry}s",
            details={"limit": decision.limit, "scope": scope, "retry_after": retry},
            retry_after=retry,
        )


def headers(decision: Decision) -> dict[str, str]:
    """IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers)."""
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(max(0, int(decision.reset_s + 0.999))),
    }
