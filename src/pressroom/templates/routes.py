from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from pressroom.api.deps import Caller, Paging, Templates, scope
from pressroom.api.openapi import ErrorSource, declare
from pressroom.core.errors import FolderNotFound, TemplateNotFound, TemplateSyntaxFailed
from pressroom.core.pagination import Page
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
    dependencies=[scope("templates:write")],
)
def create_template(body: TemplateCreate, response: Response, caller: Caller, templates: Templates) -> TemplateOut:
    template, created = templates.create(caller.account_id, body)
    if not created:
        response.status_code = 200  # external_id upsert updated an existing template
    return TemplateOut.model_validate(template)


@router.get("", response_model=Page[TemplateSummary], responses=declare(), dependencies=[scope("templates:read")])
def list_templates(
    paging: Paging, caller: Caller, templates: Templates, folder_id: str | None = Query(default=None)
) -> Page[TemplateSummary]:
    rows, total = templates.page(caller.account_id, paging.limit, paging.offset, folder_id)
    data = [TemplateSummary.model_validate(row) for row in rows]
    return Page(data=data, total=total, limit=paging.limit, offset=paging.offset)


class Catalog(BaseModel):
    data: list[CatalogTemplate]


# Declared before /{template_id}, which would otherwise capture "catalog".
@router.get("/catalog", response_model=Catalog, responses=declare(), dependencies=[scope("templates:read")])
def template_catalog(caller: Caller, templates: Templates) -> Catalog:
    """Starter templates (invoice, quote, receipt, letter, certificate, report, shipping label), each with
    sample data; POST one's fields to /v1/templates to make it yours."""
    return Catalog(data=list(templates.catalog()))


@router.get(
    "/{template_id}",
    response_model=TemplateOut,
    responses=declare(TemplateNotFound),
    dependencies=[scope("templates:read")],
)
def get_template(template_id: str, caller: Caller, templates: Templates) -> TemplateOut:
    return TemplateOut.model_validate(templates.get(caller.account_id, template_id))


@router.patch(
    "/{template_id}",
    response_model=TemplateOut,
    responses=declare(TemplateNotFound, *TEMPLATE_WRITE_ERRORS),
    dependencies=[scope("templates:write")],
)
def update_template(template_id: str, body: TemplateUpdate, caller: Caller, templates: Templates) -> TemplateOut:
    return TemplateOut.model_validate(templates.update(caller.account_id, template_id, body))


@router.delete(
    "/{template_id}", status_code=204, responses=declare(TemplateNotFound), dependencies=[scope("templates:write")]
)
def delete_template(template_id: str, caller: Caller, templates: Templates) -> Response:
    templates.delete(caller.account_id, template_id)
    return Response(status_code=204)
