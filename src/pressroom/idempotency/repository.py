from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pressroom.db.models_tenancy import IdempotencyRecord


class IdempotencyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record: IdempotencyRecord) -> None:
        self.session.add(record)
        self.session.flush()  # raises IntegrityError when the key is already taken

    def get(self, account_id: str, key: str) -> IdempotencyRecord | None:
        return self.session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key)
        )

    def by_id(self, record_id: str) -> IdempotencyRecord | None:
        return self.session.get(IdempotencyRecord, record_id)

    def complete(self, record_id: str, status: int, headers: dict[str, Any], body: bytes, expires_at: datetime) -> None:
        # By id and still in progress: a holder whose lease was taken over must not write into the new row.
        self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.status == "in_progress")
            .values(
                status="done",
                response_status=status,
                response_headers=headers,
                response_body=body,
                expires_at=expires_at,
            )
        )

    def renew(self, record_id: str, expires_at: datetime) -> bool:
        result = self.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id, IdempotencyRecord.status == "in_progress")
            .values(expires_at=expires_at)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def remove(self, record_id: str) -> None:
        self.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))

    def remove_expired(self, record_id: str, now: datetime) -> bool:
        """Delete this row only if it is still expired (a renewal racing the take-over wins)."""
        result = self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id, IdempotencyRecord.expires_at <= now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def purge_expired(self, now: datetime) -> int:
        result = self.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
