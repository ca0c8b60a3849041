from __future__ import annotations

from sqlalchemy import select

from pressroom.core.errors import TemplateNotFound
from pressroom.db.models import Template
from pressroom.db.repository import AccountScoped


class TemplateRepository(AccountScoped[Template]):
    model = Template
    not_found = TemplateNotFound

    def by_external_id(self, account_id: str, external_id: str) -> Template | None:
        return self.session.scalar(
            select(Template).where(Template.account_id == account_id, Template.external_id == external_id)
        )
