"""How a producing call answers (generate, transform, the PDF operations, and the compatibility dialects to
come): ``produce`` submits the job and shapes its answer; ``PRODUCED`` declares those answers in OpenAPI."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from pressroom.bootstrap import Container
from pressroom.core.filenames import content_disposition
from pressroom.core.principal import Principal
from pressroom.db.models import Document
from pressroom.documents.schemas import DocumentOut, JobAccepted
from pressroom.documents.service import DocumentService
from pressroom.rendering.deadline import current_sync_request

PRODUCED: dict[int | str, dict[str, Any]] = {
    201: {"model": DocumentOut, "description": "The document (JSON)"},
    200: {
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        "description": "The PDF bytes, with `Accept: application/pdf`",
    },
    202: {"model": JobAccepted, "description": "Accepted as an async job"},
}


def document_out(documents: DocumentService, document: Document) -> DocumentOut:
    link = documents.link(document)
    return DocumentOut(
        id=document.id,
        status=document.status,
        download_url=link.url if link else None,
        download_url_expires_at=link.expires_at if link else None,
        expires_at=document.expires_at,
        filename=document.filename,
        content_type=document.content_type,
        pages=document.pages,
        size_bytes=document.size_bytes,
        template_id=document.template_id,
        job_id=document.job_id,
        metadata=document.doc_metadata,
        created_at=document.created_at,
    )


def wants_bytes(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/pdf" in accept or "application/octet-stream" in accept


def produce(
    request: Request,
    container: Container,
    principal: Principal,
    operation: str,
    payload: dict[str, Any],
    *,
    is_async: bool,
    webhook_url: str | None = None,
    metadata: dict[str, Any] | None = None,
    template_id: str | None = None,
    with_report: bool = False,
) -> Response:
    """The one way a producing call answers: 202 + job (async), the bytes (Accept: application/pdf) or
    201 + the document JSON; each with the credits charged and left. ``with_report`` (the PDF operations):
    a sync answer carries the operation's report (the JSON's ``report``; X-Pdf-Bytes-In/Out with the bytes).

    It takes the container (routes pass ``ContainerDep``): it needs jobs, credits and documents together, and
    the sync render gate's callers hand it to a worker thread as one argument."""
    common: dict[str, Any] = {"webhook_url": webhook_url, "metadata": metadata or {}, "template_id": template_id}
    if is_async:
        job = container.jobs.submit(principal, operation, payload, is_async=True, **common)
        accepted = JobAccepted(
            job_id=job.id,
            status="pending",
            status_url=f"/v1/jobs/{job.id}",
            credits_charged=job.price,
            credits_left=container.credits.credits_left(principal.account_id),
        )
        return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": accepted.status_url})
    # The finished job hands back its document, bytes and price: nothing is read back from the database.
    result = container.jobs.execute_sync(principal, operation, payload, **common)
    document, charged, left = result.document, result.price, result.credits_left
    # What the render left out (an oversized image, SVG <use> copies): rendering/limits.py.
    marker = current_sync_request()
    warnings = list(marker.warnings) if marker is not None else []
    if wants_bytes(request):
        headers = {
            "X-Document-Id": document.id,
            "X-Job-Id": document.job_id,
            "X-Credits-Charged": str(charged),
            "X-Credits-Left": str(left),
            "Content-Disposition": content_disposition(document.filename, "inline"),
        }
        if warnings:
            headers["X-Render-Warnings"] = json.dumps(warnings)  # ASCII: \u escapes keep it a valid header
        if with_report and result.report:
            for key, header in (("bytes_in", "X-Pdf-Bytes-In"), ("bytes_out", "X-Pdf-Bytes-Out")):
                if key in result.report:
                    headers[header] = str(result.report[key])
        return Response(result.data, media_type=document.content_type, headers=headers)
    update: dict[str, Any] = {"credits_charged": charged, "credits_left": left}
    if warnings:
        update["warnings"] = warnings
    out = document_out(container.documents, document).model_copy(update=update)
    answer = out.model_dump(mode="json", exclude=None if warnings else {"warnings"})
    if with_report:
        answer["report"] = result.report
    return JSONResponse(answer, status_code=201)
