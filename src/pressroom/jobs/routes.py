from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from pressroom.api.deps import Caller, Documents, Jobs, Paging, scope
from pressroom.api.openapi import declare
from pressroom.core.errors import JobNotFound
from pressroom.core.pagination import Page
from pressroom.db.models import Job
from pressroom.documents.service import DocumentService
from pressroom.jobs.schemas import JobError, JobOut
from pressroom.jobs.service import JobNotCancelable

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

JobStatus = Literal["pending", "processing", "completed", "failed", "canceled"]


def job_out(documents: DocumentService, job: Job) -> JobOut:
    download_url = None
    if job.document_id is not None:
        try:
            document = documents.get(job.account_id, job.document_id)
            link = documents.link(document)
            download_url = link.url if link else None
        except Exception:  # the document may have been deleted since; the job record stays
            download_url = None
    error = JobError(code=job.error_code, message=job.error_message or "") if job.error_code else None
    return JobOut(
        id=job.id,
        operation=job.operation,
        status=job.status,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
        document_id=job.document_id,
        download_url=download_url,
        error=error,
        metadata=job.job_metadata,
        credits_charged=job.price if job.status != "failed" and job.status != "canceled" else 0,
    )


@router.get("", response_model=Page[JobOut], responses=declare(), dependencies=[scope("documents:read")])
def list_jobs(
    paging: Paging, caller: Caller, jobs: Jobs, documents: Documents, status: JobStatus | None = Query(default=None)
) -> Page[JobOut]:
    rows, total = jobs.page(caller.account_id, paging.limit, paging.offset, status)
    return Page(data=[job_out(documents, r) for r in rows], total=total, limit=paging.limit, offset=paging.offset)


@router.post(
    "/{job_id}/cancel",
    response_model=JobOut,
    responses=declare(JobNotFound, JobNotCancelable, post=True),
    dependencies=[scope("documents:write")],
)
def cancel_job(job_id: str, caller: Caller, jobs: Jobs, documents: Documents) -> JobOut:
    """Cancel a pending job; its reserved credits are released."""
    return job_out(documents, jobs.cancel(caller.account_id, job_id))


@router.get("/{job_id}", response_model=JobOut, responses=declare(JobNotFound), dependencies=[scope("documents:read")])
def get_job(job_id: str, caller: Caller, jobs: Jobs, documents: Documents) -> JobOut:
    return job_out(documents, jobs.get(caller.account_id, job_id))
