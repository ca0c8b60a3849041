from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class JobError(BaseModel):
    code: str
    message: str


class JobOut(BaseModel):
    id: str
    operation: str
    status: str
    attempts: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    document_id: str | None
    download_url: str | None
    error: JobError | None
    metadata: dict[str, Any]
    credits_charged: int = Field(description="price reserved at submission; released if the job fails")
