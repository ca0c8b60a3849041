from __future__ import annotations

from fastapi import APIRouter, Response

from pressroom.api.deps import Caller, Folders, Paging, scope
from pressroom.api.openapi import declare
from pressroom.core.errors import FolderNotFound
from pressroom.core.pagination import Page
from pressroom.folders.schemas import FolderCreate, FolderOut, FolderUpdate

router = APIRouter(prefix="/v1/folders", tags=["folders"])


@router.post(
    "", status_code=201, response_model=FolderOut, responses=declare(post=True), dependencies=[scope("templates:write")]
)
def create_folder(body: FolderCreate, caller: Caller, folders: Folders) -> FolderOut:
    return FolderOut.model_validate(folders.create(caller.account_id, body))


@router.get("", response_model=Page[FolderOut], responses=declare(), dependencies=[scope("templates:read")])
def list_folders(paging: Paging, caller: Caller, folders: Folders) -> Page[FolderOut]:
    rows, total = folders.page(caller.account_id, paging.limit, paging.offset)
    data = [FolderOut.model_validate(row) for row in rows]
    return Page(data=data, total=total, limit=paging.limit, offset=paging.offset)


@router.get(
    "/{folder_id}", response_model=FolderOut, responses=declare(FolderNotFound), dependencies=[scope("templates:read")]
)
def get_folder(folder_id: str, caller: Caller, folders: Folders) -> FolderOut:
    return FolderOut.model_validate(folders.get(caller.account_id, folder_id))


@router.patch(
    "/{folder_id}", response_model=FolderOut, responses=declare(FolderNotFound), dependencies=[scope("templates:write")]
)
def update_folder(folder_id: str, body: FolderUpdate, caller: Caller, folders: Folders) -> FolderOut:
    return FolderOut.model_validate(folders.update(caller.account_id, folder_id, body))


@router.delete(
    "/{folder_id}", status_code=204, responses=declare(FolderNotFound), dependencies=[scope("templates:write")]
)
def delete_folder(folder_id: str, caller: Caller, folders: Folders) -> Response:
    folders.delete(caller.account_id, folder_id)
    return Response(status_code=204)
