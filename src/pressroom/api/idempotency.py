"""Idempotency-Key on POST: an ASGI layer around the routes (the logic is in idempotency.service).

Nothing here waits for another request: a duplicate of an in-progress key is answered 409
``IDEMPOTENCY_IN_PROGRESS`` with ``Retry-After`` at once, and the request holding the key renews its lease
from a task on the event loop while the route runs (see the service's docstring for the lease design).

The layer's own database calls (resolving the caller, claiming, renewing, storing) run on worker threads
under a capacity limiter of their own, not the default one the routes share: a flood of duplicates then
cannot take the threads other tenants' routes need, and a pool filled by slow routes cannot delay a lease
renewal until the lease runs out.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from anyio import CapacityLimiter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pressroom.api.deps import credential, resolve_principal, scope_for_request
from pressroom.api.errors import error_response
from pressroom.core.errors import IdempotencyInProgress, PressroomError, RateLimitExceeded
from pressroom.idempotency.service import RETRY_AFTER_S, IdempotencyService, StoredResponse
from pressroom.ratelimit.base import Decision
from pressroom.ratelimit.service import headers as rate_limit_headers

log = logging.getLogger(__name__)

# Response headers that describe one transfer, not the result: never replayed.
_HOP_HEADERS = {"content-length", "date", "server", "transfer-encoding", "connection"}
# Threads for the layer's short database calls (a few ms each), apart from the routes' default limiter.
BOOKKEEPING_THREADS = 8

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Outcome:
    """What the layer decided for one keyed request (on a worker thread, in one hop)."""

    run: str | None = None  # the key was taken: run the route under this record id
    answer: StoredResponse | PressroomError | None = None  # answered from the key: a replay or a refusal
    rate: Decision | None = None  # the rate-limit token an answer from the key took
    # All three None: not the layer's business (unauthenticated, or a token without the route's scope);
    # the route answers 401/403 as it would without the header.


class IdempotencyLayer:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.limiter = CapacityLimiter(BOOKKEEPING_THREADS)

    async def _call(self, func: Callable[..., _T], *args: Any) -> _T:
        return await anyio.to_thread.run_sync(functools.partial(func, *args), limiter=self.limiter)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        container = scope["app"].state.container
        body = await _read_body(receive)
        digest = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        # One thread hop for everything a duplicate costs: a flood of them is cheap for the server.
        routed, needed = scope_for_request(scope["app"], scope)
        if not routed:  # no route answers it (404, 405): nothing to run once
            await self.app(scope, _replaying(body, receive), send)
            return
        outcome = await self._call(_decide, container, credential(request), needed, key.decode("latin-1"), digest)
        receive_again = _replaying(body, receive)
        if outcome.run is not None:
            await self._run_and_store(scope, receive_again, send, container, outcome.run)
            return
        if outcome.answer is None:
            await self.app(scope, receive_again, send)
            return
        if outcome.rate is not None:
            request.state.rate_limit_headers = rate_limit_headers(outcome.rate)  # RateLimitHeaders adds them
        answer = outcome.answer
        if isinstance(answer, StoredResponse):
            response = _replay(answer)
        else:
            retry: dict[str, str] | None = None
            if isinstance(answer, IdempotencyInProgress):
                retry = {"Retry-After": str(RETRY_AFTER_S)}
            elif isinstance(answer, RateLimitExceeded):
                retry = {"Retry-After": str(answer.retry_after)}
                request.state.rate_limit_headers = {
                    "RateLimit-Limit": str(answer.details["limit"]),
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(answer.retry_after),
                }
            response = error_response(request, answer.status, answer.code, answer.message, answer.details, retry)
        await response(scope, receive_again, send)

    async def _run_and_store(self, scope: Scope, receive: Receive, send: Send, container: Any, record_id: str) -> None:
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        service: IdempotencyService = container.idempotency
        settled = False

        async def settle() -> None:
            """Store the answer (or free the key after a 5xx), once."""
            nonlocal settled
            if settled:
                return
            settled = True
            heartbeat.cancel()  # not awaited: a renewal already on its thread is harmless
            # Shielded: a request cancelled mid-way (its client gone) must still store or free its key, or
            # every retry would get 409 until the lease ran out.
            with anyio.CancelScope(shield=True):
                if status >= 500:
                    await self._call(service.abandon, record_id)
                    return
                kept = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in response_headers
                    if k.decode("latin-1").lower() not in _HOP_HEADERS
                }
                await self._call(service.finish, record_id, StoredResponse(status, kept, b"".join(chunks)))

        async def capture(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status, response_headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Stored before the last byte leaves: a client that sends the same key again as soon as
                    # it has the answer must get the replay, not a 409 for a request already answered.
                    await settle()
            await send(message)

        heartbeat = asyncio.create_task(self._keep_leased(service, record_id))
        try:
            await self.app(scope, receive, capture)
        finally:
            await settle()

    async def _keep_leased(self, service: IdempotencyService, record_id: str) -> None:
        """Renew the key's lease while the request runs; a dead process stops renewing, freeing the key."""
        while True:
            await asyncio.sleep(service.renew_every_s)
            try:
                held = await self._call(service.renew, record_id)
            except Exception:  # a database hiccup: the next beat tries again, well within the lease
                log.warning("idempotency lease renewal of %s failed", record_id, exc_info=True)
                continue
            if not held:
                # Taken over after the lease ran out (this process stalled): the new holder owns the key,
                # and storing this request's response later is a no-op.
                log.warning("idempotency key %s was taken over after its lease ran out", record_id)
                return


def _decide(container: Any, secret: str | None, needed: str | None, key: str, digest: str) -> _Outcome:
    """``needed``: the scope the route declares (api/deps.py), checked as the route will check it."""
    try:
        principal = resolve_principal(container, secret)
    except PressroomError:
        return _Outcome()  # the route answers 401
    if needed and not principal.allows(needed):
        return _Outcome()  # the route answers 403: a replay must not hand a write's result to a read-only token
    answer: StoredResponse | PressroomError
    try:
        claim = container.idempotency.claim(principal.account_id, key, digest)
    except PressroomError as exc:
        answer = exc
    else:
        if claim.replay is None:
            return _Outcome(run=claim.record_id)
        answer = claim.replay
    # Answered here, without the route (whose auth dependency takes the rate-limit token): counted here, or
    # duplicates would be a way around the caller's rate limit.
    try:
        return _Outcome(answer=answer, rate=container.rate_limiter.check(principal))
    except RateLimitExceeded as exc:
        return _Outcome(answer=exc)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body read here, once, then the real channel: the route still learns if its client goes away."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(parts)
        elif message["type"] == "http.disconnect":
            return b"".join(parts)


def _replay(stored: StoredResponse) -> Response:
    headers = {k: str(v) for k, v in stored.headers.items() if k.lower() != "content-length"}
    headers["Idempotent-Replayed"] = "true"
    return Response(stored.body, status_code=stored.status, headers=headers)
