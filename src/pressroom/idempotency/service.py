"""Idempotency-Key: the first response to a (account, key) is stored and replayed for 24 h.

The key is claimed by inserting a row (the unique ``(account_id, key)`` constraint decides the winner), so
concurrent duplicates create one job. Nothing ever waits for another request:

- A duplicate that finds the key **done** replays the stored response.
- A duplicate that finds the key **in progress** is refused at once with 409 ``IDEMPOTENCY_IN_PROGRESS``
  and ``Retry-After`` (as Stripe does); the client retries and then gets the replay. Before, duplicates
  polled the row for up to 150 s each, holding a worker thread of the shared pool: a few dozen of them
  starved every other tenant's requests.
- The same key with a different request is refused (422 ``IDEMPOTENCY_KEY_REUSED``).

**Leases instead of a fixed 24 h hold.** The row's ``expires_at`` means two things, by status, so no
schema change was needed:

- ``in_progress``: a *lease* of ``lease_s`` seconds (the job lease, ``jobs.lease_s``). The request that
  holds the key renews it while it runs (:meth:`IdempotencyService.renew`, called by the HTTP layer every
  ``lease_s / 3``), exactly like a job runner's heartbeat. A request whose process died stops renewing, so
  its key is free again at most ``lease_s`` after the crash, instead of 24 h later.
- ``done``: the replay window, ``ttl_s`` (24 h) from the moment the response was stored.

A row whose ``expires_at`` has passed is free: the next claim deletes it (only if it is still that row and
still expired: a renewal in between wins) and inserts its own. A lease renewed by heartbeat was chosen over
"the lease is the request's deadline" because the layer sits in front of every POST route and knows no
route's deadline; a heartbeat also keeps a legitimately long request (a render up to its timeout) covered
without guessing. Every row-changing call is keyed by the claimer's own row id, so a request whose lease
was taken over (its process stalled past the lease) can neither store its response over, nor delete, the
new holder's row.
"""

from __future__ import annotations

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
# What a refused duplicate is told to wait: the holder usually finishes within seconds (a render), and a
# retry costs one indexed read, so polling once a second is cheap for both sides.
RETRY_AFTER_S = 1


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
    def __init__(self, db: Database, ttl_s: int, lease_s: float = 60.0) -> None:
        self.db = db
        self.ttl = timedelta(seconds=ttl_s)
        self.lease = timedelta(seconds=lease_s)

    @property
    def renew_every_s(self) -> float:
        """How often a holder renews its lease: three chances before it runs out."""
        return self.lease.total_seconds() / 3

    def claim(self, account_id: str, key: str, request_hash: str) -> Claim:
        """Take the key, or answer from it. Never waits: an in-progress key raises IdempotencyInProgress."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValidationFailed(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
        # Two attempts, not a wait: the second only runs when the row that beat us to the insert was gone
        # again by the time we read it (its request answered 5xx and gave the key back).
        for _ in range(2):
            claim = self._try_claim(account_id, key, request_hash)
            if claim is not None:
                return claim
        raise IdempotencyInProgress("A request with this Idempotency-Key is still running", details={"key": key})

    def _try_claim(self, account_id: str, key: str, request_hash: str) -> Claim | None:
        now = utcnow()
        try:
            with self.db.session() as session:
                repo = IdempotencyRepository(session)
                existing = repo.get(account_id, key)
                # A lapsed lease (its holder died) or a replay window that ran out: the key is free again.
                # The delete is conditional, so a holder that renewed in between keeps its key.
                if existing is not None and existing.expires_at <= now:
                    existing = None if repo.remove_expired(existing.id, now) else repo.get(account_id, key)
                if existing is not None:
                    return self._answer(existing, key, request_hash)
                record = IdempotencyRecord(
                    id=new_id("idk"),
                    account_id=account_id,
                    key=key,
                    request_hash=request_hash,
                    status="in_progress",
                    expires_at=now + self.lease,
                )
                repo.add(record)
                return Claim(record_id=record.id)
        except IntegrityError:
            pass  # lost the race to insert (or to take over an expired row): answer from the winner's row
        with self.db.session() as session:
            found = IdempotencyRepository(session).get(account_id, key)
            return None if found is None else self._answer(found, key, request_hash)

    @staticmethod
    def _answer(found: IdempotencyRecord, key: str, request_hash: str) -> Claim:
        if found.request_hash != request_hash:
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request", details={"key": key})
        if found.status == "done" and found.response_status is not None:
            return Claim(
                replay=StoredResponse(found.response_status, found.response_headers or {}, found.response_body or b"")
            )
        raise IdempotencyInProgress("A request with this Idempotency-Key is still running", details={"key": key})

    def renew(self, record_id: str) -> bool:
        """Extend the holder's lease; False when the row is no longer this holder's (taken over or gone)."""
        with self.db.session() as session:
            return IdempotencyRepository(session).renew(record_id, utcnow() + self.lease)

    def finish(self, record_id: str, response: StoredResponse) -> None:
        """Store the response for replay; from now on ``expires_at`` is the replay window (``ttl_s``)."""
        with self.db.session() as session:
            IdempotencyRepository(session).complete(
                record_id, response.status, response.headers, response.body, utcnow() + self.ttl
            )

    def abandon(self, record_id: str) -> None:
        """A 5xx is not a result worth replaying: free the key so the client's retry runs."""
        with self.db.session() as session:
            IdempotencyRepository(session).remove(record_id)

    def purge_expired(self) -> int:
        with self.db.session() as session:
            return IdempotencyRepository(session).purge_expired(utcnow())
