from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pressroom.db.models import Template


class TemplateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, template: Template) -> Template:
        self.session.add(template)
        self.session.flush()
        return template

    def get(self, account_id: str, template_id: str) -> Template | None:
        return self.session.scalar(
            select(Template).where(Template.id == template_id, Template.account_id == account_id)
        )

    def by_external_id(self, account_id: str, external_id: str) -> Template | None:
        return self.session.scalar(
            select(Template).where(Template.account_id == account_id, Template.external_id == external_id)
        )

    def page(
        self, account_id: str, limit: int, offset: int, folder_id: str | None = None
    ) -> tuple[list[Template], int]:
        conditions = [Template.account_id == account_id]
        if folder_id is not None:
            conditions.append(Template.folder_id == folder_id)
        total = self.session.scalar(select(func.count()).select_from(Template).where(*conditions)) or 0
        rows = self.session.scalars(
            select(Template).where(*conditions).order_by(Template.created_at, Template.id).limit(limit).offset(offset)
        )
        return list(rows), total

    def delete(self, template: Template) -> None:
        self.session.delete(template)
