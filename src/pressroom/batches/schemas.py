"""Batch I/O: one operation, many entries, one webhook when every job has ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

BatchOperation = Literal["generate", "transform"]


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    operation: BatchOperation
    # Each entry is the body of the single-document call (POST /v1/documents/<operation>), without
    # ``async``: entries are validated one by one so that an error names the entry at fault.
    entries: list[dict[str, Any]] = Field(min_length=1)
    webhook_url: str | None = Field(default=None, max_length=2048)
    metadata: dict[str, Any] = Field(default_factory=dict)
    # Accepted only to be refused clearly: a batch always runs in the background.
    is_async: bool = Field(default=True, alias="async")


class BatchJobRef(BaseModel):
    job_id: str
    status_url: str


class BatchAccepted(BaseModel):
    batch_id: str
    status: str
    count: int
    status_url: str
    jobs: list[BatchJobRef]


class BatchJobOut(BaseModel):
    job_id: str
    status: str
    attempts: int
    document_id: str | None
    error: dict[str, Any] | None


class BatchOut(BaseModel):
    id: str
    operation: str
    status: str
    count: int
    totals: dict[str, int]
    metadata: dict[str, Any]
    created_at: datetime
    completed_at: datetime | None
    jobs: list[BatchJobOut]


class BatchSummary(BaseModel):
    id: str
    operation: str
    status: str
    count: int
    finished: int
    failed: int
    created_at: datetime
    completed_at: datetime | None
