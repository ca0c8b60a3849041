from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AccountOut(BaseModel):
    id: str
    name: str
    plan: str
    webhook_signing_secret: str
    credits_left: int
    created_at: datetime


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class CreditsOut(BaseModel):
    credits_left: int
    plan: str


class DocumentQuota(BaseModel):
    used: int
    limit: int | None


class UsageOut(BaseModel):
    plan: str
    period_start: datetime
    period_end: datetime
    documents: DocumentQuota
    operations: dict[str, int]
    credits_charged: int
    credits_left: int
