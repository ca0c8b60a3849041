from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pressroom.db.models import Folder


class FolderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, folder: Folder) -> Folder:
        self.session.add(folder)
        self.session.flush()
        return folder

    def get(self, account_id: str, folder_id: str) -> Folder | None:
        return self.session.scalar(select(Folder).where(Folder.id == folder_id, Folder.account_id == account_id))

    def page(self, account_id: str, limit: int, offset: int) -> tuple[list[Folder], int]:
        where = Folder.account_id == account_id
        total = self.session.scalar(select(func.count()).select_from(Folder).where(where)) or 0
        rows = self.session.scalars(
            select(Folder).where(where).order_by(Folder.created_at, Folder.id).limit(limit).offset(offset)
        )
        return list(rows), total

    def delete(self, folder: Folder) -> None:
        self.session.delete(folder)
