from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=200)
    mode: Literal["live", "test"] = "live"
    role: Literal["standard", "admin"] = "standard"


class DailyUsage(BaseModel):
    date: str
    documents: int


class ApiKeyOut(BaseModel):
    id: str
    name: str
    mode: str
    role: str
    prefix: str
    last_four: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    usage: list[DailyUsage]


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret, shown this once")
