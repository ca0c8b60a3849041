from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

AssetKind = Literal["image", "font", "css"]


class AssetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    kind: AssetKind
    content_type: str
    size_bytes: int
    sha256: str
    font_family: str | None
    font_weight: int | None
    font_style: str | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reference(self) -> str:
        """What to write in a template: ``<img src="asset:logo.png">``, ``url(asset:bg.png)``."""
        return f"asset:{self.name}"
