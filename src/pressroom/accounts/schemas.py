from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AccountOut(BaseModel):
    id: str
    name: str
    plan: str
    webhook_signing_secret: str
    created_at: datetime
