"""API keys: shown once, stored as SHA-256 with prefix and last four, compared in constant time."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal

from pressroom.core.clock import utcnow
from pressroom.core.crypto import constant_time_equal, sha256_hex
from pressroom.core.errors import ApiKeyNotFound, Unauthorized
from pressroom.core.ids import new_id
from pressroom.core.principal import Principal
from pressroom.db.models import ApiKey
from pressroom.db.session import Database
from pressroom.keys.repository import ApiKeyRepository

KeyMode = Literal["live", "test"]


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKey
    secret: str


class ApiKeyService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, account_id: str, mode: KeyMode = "live", name: str = "", role: str = "standard") -> IssuedKey:
        secret = f"pr_{mode}_{secrets.token_urlsafe(32)}"
        record = ApiKey(
            id=new_id("key"),
            account_id=account_id,
            name=name,
            mode=mode,
            role=role,
            prefix=secret[:12],
            last_four=secret[-4:],
            key_hash=sha256_hex(secret),
        )
        with self.db.session() as session:
            ApiKeyRepository(session).add(record)
        return IssuedKey(record=record, secret=secret)

    def for_account(self, account_id: str | None = None) -> list[ApiKey]:
        with self.db.session() as session:
            return ApiKeyRepository(session).for_account(account_id)

    def daily_usage(self, keys: list[ApiKey], days: int = 7) -> dict[str, list[tuple[str, int]]]:
        """Per key: [(YYYY-MM-DD, documents)] for the last ``days`` days, oldest first, zeros included."""
        today = utcnow().date()
        dates = [(today - timedelta(days=offset)).isoformat() for offset in range(days - 1, -1, -1)]
        since = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC)
        with self.db.session() as session:
            counts = ApiKeyRepository(session).documents_per_day([k.id for k in keys], since)
        return {key.id: [(date, counts.get((key.id, date), 0)) for date in dates] for key in keys}

    def revoke(self, key_id: str, account_id: str | None = None) -> ApiKey:
        """Revoke one of the account's keys; without ``account_id`` (the operator's CLI) any key."""
        with self.db.session() as session:
            repo = ApiKeyRepository(session)
            record = repo.get_any(key_id) if account_id is None else repo.get(account_id, key_id)
            if record is None:
                raise ApiKeyNotFound()
            if record.revoked_at is None:
                record.revoked_at = utcnow()
            return record

    def authenticate(self, secret: str) -> Principal:
        """Unknown, malformed and revoked keys all get the same 401."""
        if not secret.startswith(("pr_live_", "pr_test_")):
            raise Unauthorized()
        digest = sha256_hex(secret)
        with self.db.session() as session:
            record = ApiKeyRepository(session).by_hash(digest)
            # The lookup is by hash (an index seek); the constant-time compare guards the final check.
            if record is None or not constant_time_equal(record.key_hash, digest) or record.revoked_at:
                raise Unauthorized()
            now = utcnow()
            if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
                record.last_used_at = now  # throttled: one write a minute per key, not per request
            return Principal(account_id=record.account_id, key_id=record.id, mode=record.mode, role=record.role)
