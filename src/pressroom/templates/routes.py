from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from pressroom.api.deps import Principal, current_principal, page_params, services
from pressroom.bootstrap import Container
from pressroom.core.pagination import Page, PageParams
from pressroom.templates.catalog import CatalogTemplate
from pressroom.templates.schemas import TemplateCreate, TemplateOut, TemplateSummary, TemplateUpdate

router = APIRouter(prefix="/v1/templates", tags=["templates"])


@router.post("", status_code=201, response_model=TemplateOut)
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


@router.get("", response_model=Page[TemplateSummary])
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
@router.get("/catalog", response_model=Catalog)
def template_catalog(
    principal: Principal = Depends(current_principal), container: Container = Depends(services)
) -> Catalog:
    """Starter templates (invoice, quote, receipt, letter, certificate, report, shipping label), each with
    sample data; POST one's fields to /v1/templates to make it yours."""
    return Catalog(data=list(container.templates.catalog()))


@router.get("/{template_id}", response_model=TemplateOut)
def get_template(
    template_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> TemplateOut:
    return TemplateOut.model_validate(container.templates.get(principal.account_id, template_id))


@router.patch("/{template_id}", response_model=TemplateOut)
def update_template(
    template_id: str,
    body: TemplateUpdate,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> TemplateOut:
    return TemplateOut.model_validate(container.templates.update(principal.account_id, template_id, body))


@router.delete("/{template_id}", status_code=204)
def delete_template(
    template_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Response:
    container.templates.delete(principal.account_id, template_id)
    return Response(status_code=204)
