from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from pressroom.api.deps import current_principal, page_params, services
from pressroom.api.openapi import ErrorSource, declare
from pressroom.bootstrap import Container
from pressroom.core.errors import FolderNotFound, TemplateNotFound, TemplateSyntaxFailed
from pressroom.core.pagination import Page, PageParams
from pressroom.core.principal import Principal
from pressroom.templates.catalog import CatalogTemplate
from pressroom.templates.schemas import TemplateCreate, TemplateOut, TemplateSummary, TemplateUpdate

router = APIRouter(prefix="/v1/templates", tags=["templates"])
# A create or an update: its folder, its external_id (another template's), its body (compiled on save).
TEMPLATE_WRITE_ERRORS: tuple[ErrorSource, ...] = (
    FolderNotFound,
    (409, "EXTERNAL_ID_CONFLICT"),
    TemplateSyntaxFailed,
    (422, "TEMPLATE_TOO_LARGE"),
)


@router.post(
    "",
    status_code=201,
    response_model=TemplateOut,
    responses=declare(
        *TEMPLATE_WRITE_ERRORS,
        post=True,
        success={200: {"model": TemplateOut, "description": "Upsert: the template with this external_id, updated"}},
    ),
)
def create_template(
    body: TemplateCreate,
    response: Response,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> TemplateOut:
    template, created = container.templates.create(principal.account_id, body)
    if not created:
        response.status_code = 200  # external_id upsert updated an existing template
    return TemplateOut.model_validate(template)


@router.get("", response_model=Page[TemplateSummary], responses=declare())
def list_templates(
    folder_id: str | None = Query(default=None),
    paging: PageParams = Depends(page_params),
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Page[TemplateSummary]:
    rows, total = container.templates.page(principal.account_id, paging.limit, paging.offset, folder_id)
    data = [TemplateSummary.model_validate(row) for row in rows]
    return Page(data=data, total=total, limit=paging.limit, offset=paging.offset)


class Catalog(BaseModel):
    data: list[CatalogTemplate]


# Declared before /{template_id}, which would otherwise capture "catalog".
@router.get("/catalog", response_model=Catalog, responses=declare())
def template_catalog(
    principal: Principal = Depends(current_principal), container: Container = Depends(services)
) -> Catalog:
    """Starter templates (invoice, quote, receipt, letter, certificate, report, shipping label), each with
    sample data; POST one's fields to /v1/templates to make it yours."""
    return Catalog(data=list(container.templates.catalog()))


@router.get("/{template_id}", response_model=TemplateOut, responses=declare(TemplateNotFound))
def get_template(
    template_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> TemplateOut:
    return TemplateOut.model_validate(container.templates.get(principal.account_id, template_id))


@router.patch("/{template_id}", response_model=TemplateOut, responses=declare(TemplateNotFound, *TEMPLATE_WRITE_ERRORS))
def update_template(
    template_id: str,
    body: TemplateUpdate,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> TemplateOut:
    return TemplateOut.model_validate(container.templates.update(principal.account_id, template_id, body))


@router.delete("/{template_id}", status_code=204, responses=declare(TemplateNotFound))
def delete_template(
    template_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Response:
    container.templates.delete(principal.account_id, template_id)
    return Response(status_code=204)
