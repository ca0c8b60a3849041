from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pressroom.db.models_assets import Asset


class AssetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, asset: Asset) -> Asset:
        self.session.add(asset)
        self.session.flush()
        return asset

    def get(self, account_id: str, asset_id: str) -> Asset | None:
        return self.session.scalar(select(Asset).where(Asset.id == asset_id, Asset.account_id == account_id))

    def by_name(self, account_id: str, name: str) -> Asset | None:
        return self.session.scalar(select(Asset).where(Asset.account_id == account_id, Asset.name == name))

    def by_names(self, account_id: str, names: Iterable[str]) -> list[Asset]:
        wanted = list(set(names))
        if not wanted:
            return []
        return list(self.session.scalars(select(Asset).where(Asset.account_id == account_id, Asset.name.in_(wanted))))

    def fonts(self, account_id: str) -> list[Asset]:
        return list(
            self.session.scalars(
                select(Asset).where(Asset.account_id == account_id, Asset.kind == "font").order_by(Asset.name)
            )
        )

    def page(self, account_id: str, limit: int, offset: int, kind: str | None = None) -> tuple[list[Asset], int]:
        conditions = [Asset.account_id == account_id]
        if kind is not None:
            conditions.append(Asset.kind == kind)
        total = self.session.scalar(select(func.count()).select_from(Asset).where(*conditions)) or 0
        rows = self.session.scalars(
            select(Asset).where(*conditions).order_by(Asset.created_at, Asset.id).limit(limit).offset(offset)
        )
        return list(rows), total

    def delete(self, asset: Asset) -> None:
        self.session.delete(asset)
