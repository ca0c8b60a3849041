"""Idempotency-Key on POST: an ASGI layer around the routes (the logic is in idempotency.service)."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pressroom.api.deps import credential, resolve_principal
from pressroom.api.errors import error_response
from pressroom.core.errors import PressroomError
from pressroom.idempotency.service import StoredResponse

# Response headers that describe one transfer, not the result: never replayed.
_HOP_HEADERS = {"content-length", "date", "server", "transfer-encoding", "connection"}


class IdempotencyLayer:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        key = headers.get(b"idempotency-key")
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        container = scope["app"].state.container
        try:
            principal = await run_in_threadpool(resolve_principal, container, credential(request))
        except PressroomError:
            await self.app(scope, receive, send)  # unauthenticated: the route answers 401
            return
        body = await _read_body(receive)
        digest = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        try:
            claim = await run_in_threadpool(
                container.idempotency.claim, principal.account_id, key.decode("latin-1"), digest
            )
        except PressroomError as exc:
            response = error_response(request, exc.status, exc.code, exc.message, exc.details)
            await response(scope, receive, send)
            return
        if claim.replay is not None:
            await _replay(claim.replay, send)
            return
        assert claim.record_id is not None
        await self._run_and_store(scope, body, send, container, claim.record_id)

    async def _run_and_store(self, scope: Scope, body: bytes, send: Send, container: Any, record_id: str) -> None:
        status = 500
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        sent_body = False

        async def replay_body() -> Message:
            nonlocal sent_body
            if sent_body:
                return {"type": "http.disconnect"}
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status, response_headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            if status >= 500:
                await run_in_threadpool(container.idempotency.abandon, record_id)
            else:
                kept = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in response_headers
                    if k.decode("latin-1").lower() not in _HOP_HEADERS
                }
                stored = StoredResponse(status, kept, b"".join(chunks))
                await run_in_threadpool(container.idempotency.finish, record_id, stored)


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


async def _replay(stored: StoredResponse, send: Send) -> None:
    headers = [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in stored.headers.items()]
    headers += [(b"idempotent-replayed", b"true"), (b"content-length", str(len(stored.body)).encode())]
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body})
