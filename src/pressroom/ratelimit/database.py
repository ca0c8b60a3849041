"""Buckets in the database: shared by every API node without extra infrastructure."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from pressroom.db.models_tenancy import RateBucket
from pressroom.db.session import Database
from pressroom.ratelimit.base import Decision, decide, refill


class DatabaseRateLimitStore:
    name = "database"

    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self, bucket: str, per_minute: int, now: float) -> Decision:
        try:
            return self._take(bucket, per_minute, now)
        except IntegrityError:  # two first requests raced to create the row: the loser retries once
            return self._take(bucket, per_minute, now)

    def _take(self, bucket: str, per_minute: int, now: float) -> Decision:
        with self.db.session() as session:
            # Write first: locks the row (PostgreSQL) / the database (SQLite) before the read.
            locked = session.execute(
                update(RateBucket)
                .where(RateBucket.id == bucket)
                .values(tokens=RateBucket.tokens)
                .execution_options(synchronize_session=False)
            )
            row = session.get(RateBucket, bucket) if locked.rowcount else None  # type: ignore[attr-defined]
            if row is None:
                row = RateBucket(id=bucket, tokens=float(per_minute), updated_at=now)
                session.add(row)
            tokens, decision = decide(refill(row.tokens, row.updated_at, per_minute, now), per_minute)
            row.tokens, row.updated_at = tokens, now
            return decision
