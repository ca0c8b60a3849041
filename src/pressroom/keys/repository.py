from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, func, select

from pressroom.core.errors import ApiKeyNotFound
from pressroom.db.models import ApiKey, Job
from pressroom.db.repository import AccountScoped


class ApiKeyRepository(AccountScoped[ApiKey]):
    model = ApiKey
    not_found = ApiKeyNotFound

    def by_hash(self, key_hash: str) -> ApiKey | None:
        return self.session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))

    def for_account(self, account_id: str | None = None) -> list[ApiKey]:
        query = select(ApiKey).order_by(ApiKey.created_at)
        if account_id is not None:
            query = query.where(ApiKey.account_id == account_id)
        return list(self.session.scalars(query))

    def documents_per_day(self, key_ids: list[str], since: datetime) -> dict[tuple[str, str], int]:
        """(key id, YYYY-MM-DD) -> jobs submitted with that key that day."""
        if not key_ids:
            return {}
        day = func.substr(func.cast(Job.created_at, String), 1, 10)
        rows = self.session.execute(
            select(Job.key_id, day, func.count())
            .where(Job.key_id.in_(key_ids), Job.created_at >= since)
            .group_by(Job.key_id, day)
        )
        return {(str(key_id), str(date)): int(count) for key_id, date, count in rows}
