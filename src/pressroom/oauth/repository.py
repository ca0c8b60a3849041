from __future__ import annotations

from sqlalchemy import select

from pressroom.core.errors import NotFound
from pressroom.db.models_tenancy import OAuthClient
from pressroom.db.repository import AccountScoped


class OAuthClientRepository(AccountScoped[OAuthClient]):
    """Clients are looked up unscoped (``get_any``) only to authenticate them: their id is the credential."""

    model = OAuthClient

    def missing(self, row_id: str) -> NotFound:
        return NotFound("OAuth client not found", code="OAUTH_CLIENT_NOT_FOUND")

    def list(self, account_id: str) -> list[OAuthClient]:
        query = select(OAuthClient).where(OAuthClient.account_id == account_id).order_by(OAuthClient.created_at)
        return list(self.session.scalars(query))
