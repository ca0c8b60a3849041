from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
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

    def complete(self, record_id: str, status: int, headers: dict[str, Any], body: bytes) -> None:
        record = self.session.get(IdempotencyRecord, record_id)
        if record is not None:
            record.status, record.response_status = "done", status
            record.response_headers, record.response_body = headers, body

    def remove(self, record_id: str) -> None:
        self.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))

    def purge_expired(self, now: datetime) -> int:
        result = self.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
