from __future__ import annotations

from pressroom.core.errors import FolderNotFound
from pressroom.db.models import Folder
from pressroom.db.repository import AccountScoped


class FolderRepository(AccountScoped[Folder]):
    model = Folder
    not_found = FolderNotFound
