from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pressroom.db.models_tenancy import OAuthClient


class OAuthClientRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, client: OAuthClient) -> OAuthClient:
        self.session.add(client)
        self.session.flush()
        return client

    def get(self, client_id: str) -> OAuthClient | None:
        return self.session.get(OAuthClient, client_id)

    def list(self, account_id: str) -> list[OAuthClient]:
        query = select(OAuthClient).where(OAuthClient.account_id == account_id).order_by(OAuthClient.created_at)
        return list(self.session.scalars(query))
