"""Who is calling: the account every query is scoped to, the key (or token) used and what it may do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account every query is scoped to, and the key used."""

    account_id: str
    key_id: str
    mode: str
    role: str = "standard"
    # None: every scope (API keys); a set: what an OAuth token was granted.
    scopes: frozenset[str] | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes
