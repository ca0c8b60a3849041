"""Idempotency-Key: the first response to a (account, key) is stored and replayed for 24 h.

The key is claimed by inserting a row (a unique constraint decides the winner), so concurrent duplicates
create one job: the losers wait for the winner's response and replay it. The same key with a different
request is refused (422 IDEMPOTENCY_KEY_REUSED).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from pressroom.core.clock import utcnow
from pressroom.core.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed
from pressroom.core.ids import new_id
from pressroom.db.models_tenancy import IdempotencyRecord
from pressroom.db.session import Database
from pressroom.idempotency.repository import IdempotencyRepository

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: dict[str, Any]
    body: bytes


@dataclass(frozen=True)
class Claim:
    """Either this request owns the key (``record_id``) or it must replay ``replay``."""

    record_id: str | None = None
    replay: StoredResponse | None = None


class IdempotencyService:
    def __init__(self, db: Database, ttl_s: int, wait_s: float = 150.0) -> None:
        self.db = db
        self.ttl = timedelta(seconds=ttl_s)
        self.wait_s = wait_s

    def claim(self, account_id: str, key: str, request_hash: str) -> Claim:
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
        deadline = time.monotonic() + self.wait_s
        while True:
            now = utcnow()
            record = IdempotencyRecord(
                id=new_id("idk"), account_id=account_id, key=key, request_hash=request_hash, expires_at=now + self.ttl
            )
            try:
                with self.db.session() as session:
                    repo = IdempotencyRepository(session)
                    existing = repo.get(account_id, key)
                    if existing is not None and existing.expires_at <= now:
                        repo.remove(existing.id)  # an expired key is free again
                        existing = None
                    if existing is None:
                        repo.add(record)
                        return Claim(record_id=record.id)
            except IntegrityError:
                existing = None  # lost the race to insert: read the winner's row below
            found = self._read(account_id, key)
            if found is not None:
                if found.request_hash != request_hash:
                    raise IdempotencyKeyReused(
                        "This Idempotency-Key was used with a different request", details={"key": key}
                    )
                if found.status == "done" and found.response_status is not None:
                    return Claim(
                        replay=StoredResponse(
                            found.response_status, found.response_headers or {}, found.response_body or b""
                        )
                    )
            if time.monotonic() > deadline:
                raise IdempotencyInProgress("A request with this Idempotency-Key is still running")
            time.sleep(0.05)

    def _read(self, account_id: str, key: str) -> IdempotencyRecord | None:
        with self.db.session() as session:
            return IdempotencyRepository(session).get(account_id, key)

    def finish(self, record_id: str, response: StoredResponse) -> None:
        with self.db.session() as session:
            IdempotencyRepository(session).complete(record_id, response.status, response.headers, response.body)

    def abandon(self, record_id: str) -> None:
        """A 5xx is not a result worth replaying: free the key so the client's retry runs."""
        with self.db.session() as session:
            IdempotencyRepository(session).remove(record_id)

    def purge_expired(self) -> int:
        with self.db.session() as session:
            return IdempotencyRepository(session).purge_expired(utcnow())
