"""Buckets in the database: shared by every API node without extra infrastructure."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pressroom.db.models_tenancy import RateBucket
from pressroom.db.session import Database
from pressroom.ratelimit.base import Decision, decide, refill


class DatabaseRateLimitStore:
    name = "database"

    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self, bucket: str, per_minute: int, now: float) -> Decision:
        return self.take_in_order([(bucket, per_minute)], now)[0]

    def take_in_order(self, buckets: Sequence[tuple[str, int]], now: float) -> list[Decision]:
        """All buckets of a request in one transaction (one commit instead of one per bucket)."""
        try:
            return self._take_in_order(buckets, now)
        except IntegrityError:  # two first requests raced to create a row: the loser retries once
            return self._take_in_order(buckets, now)

    def _take_in_order(self, buckets: Sequence[tuple[str, int]], now: float) -> list[Decision]:
        decisions: list[Decision] = []
        with self.db.session() as session:
            for bucket, per_minute in buckets:
                decisions.append(self._take(session, bucket, per_minute, now))
                if not decisions[-1].allowed:
                    break
        return decisions

    @staticmethod
    def _take(session: Session, bucket: str, per_minute: int, now: float) -> Decision:
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
            session.flush()  # the next bucket's UPDATE must not be the statement that inserts this row
        tokens, decision = decide(refill(row.tokens, row.updated_at, per_minute, now), per_minute)
        row.tokens, row.updated_at = tokens, now
        return decision
