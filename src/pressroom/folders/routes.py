from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from pressroom.api.deps import current_principal, page_params, services
from pressroom.api.openapi import declare
from pressroom.bootstrap import Container
from pressroom.core.errors import FolderNotFound
from pressroom.core.pagination import Page, PageParams
from pressroom.core.principal import Principal
from pressroom.folders.schemas import FolderCreate, FolderOut, FolderUpdate

router = APIRouter(prefix="/v1/folders", tags=["folders"])


@router.post("", status_code=201, response_model=FolderOut, responses=declare(post=True))
def create_folder(
    body: FolderCreate,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> FolderOut:
    return FolderOut.model_validate(container.folders.create(principal.account_id, body))


@router.get("", response_model=Page[FolderOut], responses=declare())
def list_folders(
    paging: PageParams = Depends(page_params),
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Page[FolderOut]:
    rows, total = container.folders.page(principal.account_id, paging.limit, paging.offset)
    data = [FolderOut.model_validate(row) for row in rows]
    return Page(data=data, total=total, limit=paging.limit, offset=paging.offset)


@router.get("/{folder_id}", response_model=FolderOut, responses=declare(FolderNotFound))
def get_folder(
    folder_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> FolderOut:
    return FolderOut.model_validate(container.folders.get(principal.account_id, folder_id))


@router.patch("/{folder_id}", response_model=FolderOut, responses=declare(FolderNotFound))
def update_folder(
    folder_id: str,
    body: FolderUpdate,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> FolderOut:
    return FolderOut.model_validate(container.folders.update(principal.account_id, folder_id, body))


@router.delete("/{folder_id}", status_code=204, responses=declare(FolderNotFound))
def delete_folder(
    folder_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Response:
    container.folders.delete(principal.account_id, folder_id)
    return Response(status_code=204)
