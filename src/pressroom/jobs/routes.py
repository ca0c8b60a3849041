from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query

from pressroom.api.deps import current_principal, page_params, services
from pressroom.api.openapi import declare
from pressroom.bootstrap import Container
from pressroom.core.errors import JobNotFound
from pressroom.core.pagination import Page, PageParams
from pressroom.core.principal import Principal
from pressroom.db.models import Job
from pressroom.jobs.schemas import JobError, JobOut
from pressroom.jobs.service import JobNotCancelable

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

JobStatus = Literal["pending", "processing", "completed", "failed", "canceled"]


def job_out(container: Container, job: Job) -> JobOut:
    download_url = None
    if job.document_id is not None:
        try:
            document = container.documents.get(job.account_id, job.document_id)
            link = container.documents.link(document)
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


@router.get("", response_model=Page[JobOut], responses=declare())
def list_jobs(
    status: JobStatus | None = Query(default=None),
    paging: PageParams = Depends(page_params),
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> Page[JobOut]:
    rows, total = container.jobs.page(principal.account_id, paging.limit, paging.offset, status)
    return Page(data=[job_out(container, r) for r in rows], total=total, limit=paging.limit, offset=paging.offset)


@router.post("/{job_id}/cancel", response_model=JobOut, responses=declare(JobNotFound, JobNotCancelable, post=True))
def cancel_job(
    job_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> JobOut:
    """Cancel a pending job; its reserved credits are released."""
    return job_out(container, container.jobs.cancel(principal.account_id, job_id))


@router.get("/{job_id}", response_model=JobOut, responses=declare(JobNotFound))
def get_job(
    job_id: str,
    principal: Principal = Depends(current_principal),
    container: Container = Depends(services),
) -> JobOut:
    return job_out(container, container.jobs.get(principal.account_id, job_id))
