"""HTML templates: Handlebars body + CSS + page options + sample data, syntax-checked on save."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pressroom.core.errors import ExternalIdConflict, FolderNotFound
from pressroom.core.ids import new_id
from pressroom.db.models import Template
from pressroom.db.session import Database
from pressroom.folders.repository import FolderRepository
from pressroom.templates.catalog import CatalogTemplate, load_catalog
from pressroom.templates.repository import TemplateRepository
from pressroom.templates.schemas import TemplateCreate, TemplateUpdate
from pressroom.templating import handlebars
from pressroom.webhooks.outbox import emit


def check_syntax(body: str, options: dict[str, Any], limits: handlebars.Limits | None = None) -> None:
    """Compile everything that is Handlebars so a broken template fails at save time (422, line/col).

    Under ``limits`` (tag count, then the render's time budget): a template too big to compile is refused
    here in bounded time (422 ``TEMPLATE_TOO_LARGE``), not stored to fail every render."""
    handlebars.compile(body, limits=limits)
    for key in ("header_html", "footer_html"):
        if options.get(key):
            handlebars.compile(options[key], limits=limits)


def _external_id_taken(external_id: str, holder_id: str | None) -> ExternalIdConflict:
    """PATCH cannot move an external_id onto a second template: the key names one template (409)."""
    details: dict[str, Any] = {"external_id": external_id}
    if holder_id is not None:
        details["template_id"] = holder_id
    return ExternalIdConflict(f"Another template already has external_id {external_id!r}", details=details)


def _announce(session: Session, template: Template, event: str) -> None:
    """Template events go to subscribed webhook endpoints, in the transaction of the change."""
    data = {"template_id": template.id, "name": template.name, "external_id": template.external_id}
    # Each change is its own event (a template is updated many times), so the subject is a fresh id.
    emit(session, template.account_id, event, new_id("evt"), data)


class TemplateService:
    def __init__(self, db: Database, limits: handlebars.Limits | None = None) -> None:
        self.db = db
        self.limits = limits or handlebars.Limits()

    def create(self, account_id: str, data: TemplateCreate) -> tuple[Template, bool]:
        """Create, or update in place when ``external_id`` names an existing template (upsert).

        Returns the template and whether it was created.
        """
        options = data.options.model_dump(exclude_defaults=True)
        check_syntax(data.body, options, self.limits)
        try:
            return self._create_or_update(account_id, data, options)
        except IntegrityError:
            if data.external_id is None:
                raise
            # A concurrent create inserted this external_id between our read and our insert, and the unique
            # constraint refused ours. Once more, in a fresh transaction: the upsert now finds theirs.
            return self._create_or_update(account_id, data, options)

    def _create_or_update(
        self, account_id: str, data: TemplateCreate, options: dict[str, Any]
    ) -> tuple[Template, bool]:
        with self.db.session() as session:
            self._check_folder(session, account_id, data.folder_id)
            repo = TemplateRepository(session)
            # `is not None`: any external_id is a key (a falsy "" used to skip the lookup, then collide: 500).
            existing = repo.by_external_id(account_id, data.external_id) if data.external_id is not None else None
            if existing is not None:
                for field in ("name", "body", "css", "sample_data", "folder_id"):
                    setattr(existing, field, getattr(data, field))
                existing.options = options
                session.flush()
                _announce(session, existing, "template.updated")
                return existing, False
            template = Template(
                id=new_id("tpl"),
                account_id=account_id,
                kind="html",
                name=data.name,
                body=data.body,
                css=data.css,
                sample_data=data.sample_data,
                options=options,
                folder_id=data.folder_id,
                external_id=data.external_id,
            )
            repo.add(template)
            _announce(session, template, "template.created")
            return template, True

    @staticmethod
    def catalog() -> tuple[CatalogTemplate, ...]:
        """The starter templates shipped with Pressroom (same for every account)."""
        return load_catalog()

    def get(self, account_id: str, template_id: str) -> Template:
        with self.db.session() as session:
            return TemplateRepository(session).get_or_raise(account_id, template_id)

    def page(
        self, account_id: str, limit: int, offset: int, folder_id: str | None = None
    ) -> tuple[list[Template], int]:
        with self.db.session() as session:
            in_folder = () if folder_id is None else (Template.folder_id == folder_id,)
            return TemplateRepository(session).page(account_id, limit, offset, *in_folder)

    def update(self, account_id: str, template_id: str, data: TemplateUpdate) -> Template:
        changes = data.model_dump(exclude_unset=True)
        if "options" in changes and data.options is not None:
            changes["options"] = data.options.model_dump(exclude_defaults=True)
        try:
            with self.db.session() as session:
                repo = TemplateRepository(session)
                template = repo.get_or_raise(account_id, template_id)
                check_syntax(changes.get("body", template.body), changes.get("options", template.options), self.limits)
                if "folder_id" in changes:
                    self._check_folder(session, account_id, changes["folder_id"])
                external_id = changes.get("external_id")
                if external_id is not None:
                    holder = repo.by_external_id(account_id, external_id)
                    if holder is not None and holder.id != template.id:
                        raise _external_id_taken(external_id, holder.id)
                for field, value in changes.items():
                    setattr(template, field, value)
                session.flush()
                _announce(session, template, "template.updated")
                return template
        except IntegrityError:
            if changes.get("external_id") is None:
                raise
            # Another request gave this external_id to another template after our check.
            raise _external_id_taken(changes["external_id"], None) from None

    def delete(self, account_id: str, template_id: str) -> None:
        with self.db.session() as session:
            repo = TemplateRepository(session)
            template = repo.get_or_raise(account_id, template_id)
            _announce(session, template, "template.deleted")
            repo.delete(template)

    @staticmethod
    def _check_folder(session: Session, account_id: str, folder_id: str | None) -> None:
        if folder_id is not None and FolderRepository(session).get(account_id, folder_id) is None:
            raise FolderNotFound(details={"folder_id": folder_id})
