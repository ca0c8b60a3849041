from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from pressroom.core.errors import AssetNotFound, NotFound
from pressroom.db.models_assets import Asset
from pressroom.db.repository import AccountScoped


class AssetRepository(AccountScoped[Asset]):
    model = Asset
    not_found = AssetNotFound

    def missing(self, row_id: str) -> NotFound:
        return AssetNotFound(details={"asset_id": row_id})

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
