from __future__ import annotations

from pressroom.core.ids import new_id
from pressroom.db.models import Folder
from pressroom.db.session import Database
from pressroom.folders.repository import FolderRepository
from pressroom.folders.schemas import FolderCreate, FolderUpdate


class FolderService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, account_id: str, data: FolderCreate) -> Folder:
        with self.db.session() as session:
            return FolderRepository(session).add(Folder(id=new_id("fld"), account_id=account_id, name=data.name))

    def get(self, account_id: str, folder_id: str) -> Folder:
        with self.db.session() as session:
            return FolderRepository(session).get_or_raise(account_id, folder_id)

    def page(self, account_id: str, limit: int, offset: int) -> tuple[list[Folder], int]:
        with self.db.session() as session:
            return FolderRepository(session).page(account_id, limit, offset)

    def update(self, account_id: str, folder_id: str, data: FolderUpdate) -> Folder:
        with self.db.session() as session:
            folder = FolderRepository(session).get_or_raise(account_id, folder_id)
            folder.name = data.name
            session.flush()
            return folder

    def delete(self, account_id: str, folder_id: str) -> None:
        """Deleting a folder keeps its templates (they move to no folder)."""
        with self.db.session() as session:
            repo = FolderRepository(session)
            repo.delete(repo.get_or_raise(account_id, folder_id))
