"""HTTP door for batches: submit many async jobs at once, follow them as one."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from pressroom.api.deps import Batches, Caller, Paging, scope
from pressroom.api.openapi import ADMISSION, declare
from pressroom.batches.schemas import (
    BatchAccepted,
    BatchJobOut,
    BatchJobRef,
    BatchOut,
    BatchRequest,
    BatchSummary,
)
from pressroom.core.errors import BatchAsyncOnly, BatchNotFound, BatchTooLarge, TemplateNotFound
from pressroom.core.pagination import Page

router = APIRouter(prefix="/v1/batches", tags=["batches"])


@router.post(
    "",
    status_code=202,
    response_model=BatchAccepted,
    responses=declare(*ADMISSION, BatchAsyncOnly, BatchTooLarge, TemplateNotFound, post=True),
    dependencies=[scope("documents:write")],
)
def create_batch(body: BatchRequest, caller: Caller, batches: Batches) -> JSONResponse:
    batch, job_ids = batches.submit(caller, body)
    accepted = BatchAccepted(
        batch_id=batch.id,
        status=batch.status,
        count=batch.count,
        status_url=f"/v1/batches/{batch.id}",
        jobs=[BatchJobRef(job_id=job_id, status_url=f"/v1/jobs/{job_id}") for job_id in job_ids],
    )
    return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": accepted.status_url})


@router.get("", response_model=Page[BatchSummary], responses=declare(), dependencies=[scope("documents:read")])
def list_batches(paging: Paging, caller: Caller, batches: Batches) -> Page[BatchSummary]:
    rows, total = batches.page(caller.account_id, paging.limit, paging.offset)
    data = [
        BatchSummary(
            id=b.id,
            operation=b.operation,
            status=b.status,
            count=b.count,
            finished=b.finished,
            failed=b.failed,
            created_at=b.created_at,
            completed_at=b.completed_at,
        )
        for b in rows
    ]
    return Page(data=data, total=total, limit=paging.limit, offset=paging.offset)


@router.get(
    "/{batch_id}", response_model=BatchOut, responses=declare(BatchNotFound), dependencies=[scope("documents:read")]
)
def get_batch(batch_id: str, caller: Caller, batches: Batches) -> BatchOut:
    view = batches.get(caller.account_id, batch_id)
    totals = dict.fromkeys(("pending", "processing", "completed", "failed", "canceled"), 0) | view.totals
    return BatchOut(
        id=view.batch.id,
        operation=view.batch.operation,
        status=view.batch.status,
        count=view.batch.count,
        totals=totals,
        metadata=view.batch.batch_metadata,
        created_at=view.batch.created_at,
        completed_at=view.batch.completed_at,
        jobs=[
            BatchJobOut(
                job_id=job.id,
                status=job.status,
                attempts=job.attempts,
                document_id=job.document_id,
                error={"code": job.error_code, "message": job.error_message} if job.error_code else None,
            )
            for job in view.jobs
        ],
    )
