"""The services on the account-scoped repositories, on a migrated SQLite database: a tenant reaching for
another tenant's row gets the same 404 (code and message) as for an id that never existed, and the
page filters the services pass down narrow within the account."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pressroom.accounts.service import AccountService
from pressroom.assets.service import AssetService
from pressroom.config import AssetSettings, WebhookSettings
from pressroom.core.errors import NotFound
from pressroom.core.ids import new_id
from pressroom.db.migrate import upgrade
from pressroom.db.models import Job, WebhookDelivery
from pressroom.db.session import Database
from pressroom.folders.schemas import FolderCreate, FolderUpdate
from pressroom.folders.service import FolderService
from pressroom.jobs.repository import JobRepository
from pressroom.keys.service import ApiKeyService
from pressroom.oauth.service import OAuthService
from pressroom.storage.filesystem import FilesystemBlobStore
from pressroom.templates.schemas import TemplateCreate, TemplateUpdate
from pressroom.templates.service import TemplateService
from pressroom.webhooks.service import WebhookEndpointService

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


class AllowAll:
    def check_webhook_url(self, url: str) -> None:
        return None


@dataclass
class Tenants:
    db: Database
    ours: str
    theirs: str


@pytest.fixture()
def tenants(tmp_path: Path) -> Iterator[Tenants]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    accounts = AccountService(db)
    ours, _ = accounts.get_or_create("ours")
    theirs, _ = accounts.get_or_create("theirs")
    yield Tenants(db, ours.id, theirs.id)
    db.dispose()


def _same_404(theirs: pytest.ExceptionInfo[NotFound], missing: pytest.ExceptionInfo[NotFound]) -> None:
    assert theirs.value.status == 404
    assert theirs.value.to_dict() == missing.value.to_dict()


def test_accounts_unknown_id_is_account_not_found(tenants: Tenants) -> None:
    accounts = AccountService(tenants.db)
    assert accounts.get(tenants.ours).name == "ours"
    calls: list[Callable[[], object]] = [
        lambda: accounts.get("acc_nope"),
        lambda: accounts.rename("acc_nope", "x"),
        lambda: accounts.set_plan("acc_nope", "free", ["free"]),
    ]
    for call in calls:
        with pytest.raises(NotFound) as raised:
            call()
        assert (raised.value.code, raised.value.message) == ("ACCOUNT_NOT_FOUND", "Account not found")


def test_folders_of_another_tenant_are_not_found(tenants: Tenants) -> None:
    folders = FolderService(tenants.db)
    theirs = folders.create(tenants.theirs, FolderCreate(name="private"))
    for call in (
        lambda folder_id: folders.get(tenants.ours, folder_id),
        lambda folder_id: folders.update(tenants.ours, folder_id, FolderUpdate(name="taken")),
        lambda folder_id: folders.delete(tenants.ours, folder_id),
    ):
        with pytest.raises(NotFound) as other:
            call(theirs.id)
        with pytest.raises(NotFound) as missing:
            call("fld_nope")
        _same_404(other, missing)
        assert other.value.code == "FOLDER_NOT_FOUND"
    assert folders.get(tenants.theirs, theirs.id).name == "private"  # untouched by the attempts
    assert folders.page(tenants.ours, 10, 0) == ([], 0)


def test_templates_of_another_tenant_are_not_found_and_pages_filter_by_folder(tenants: Tenants) -> None:
    folders, templates = FolderService(tenants.db), TemplateService(tenants.db)
    theirs, _ = templates.create(tenants.theirs, TemplateCreate(name="t", body="<p>{{x}}</p>"))
    for call in (
        lambda template_id: templates.get(tenants.ours, template_id),
        lambda template_id: templates.update(tenants.ours, template_id, TemplateUpdate(name="n")),
        lambda template_id: templates.delete(tenants.ours, template_id),
    ):
        with pytest.raises(NotFound) as other:
            call(theirs.id)
        with pytest.raises(NotFound) as missing:
            call("tpl_nope")
        _same_404(other, missing)
        assert other.value.code == "TEMPLATE_NOT_FOUND"
    # Another tenant's folder is not a folder of ours either.
    their_folder = folders.create(tenants.theirs, FolderCreate(name="f"))
    with pytest.raises(NotFound) as no_folder:
        templates.create(tenants.ours, TemplateCreate(name="t", body="x", folder_id=their_folder.id))
    assert no_folder.value.code == "FOLDER_NOT_FOUND"
    folder = folders.create(tenants.ours, FolderCreate(name="f"))
    filed, _ = templates.create(tenants.ours, TemplateCreate(name="a", body="a", folder_id=folder.id))
    loose, _ = templates.create(tenants.ours, TemplateCreate(name="b", body="b"))
    rows, total = templates.page(tenants.ours, 10, 0, folder.id)
    assert total == 1 and [row.id for row in rows] == [filed.id]
    rows, total = templates.page(tenants.ours, 10, 0)
    assert total == 2 and [row.id for row in rows] == [filed.id, loose.id]


def test_assets_of_another_tenant_are_not_found_with_the_asked_id(tenants: Tenants, tmp_path: Path) -> None:
    assets = AssetService(tenants.db, FilesystemBlobStore(tmp_path / "blobs"), AssetSettings())
    theirs, _ = assets.upload(tenants.theirs, "logo.png", PNG, "image/png")
    for call in (lambda asset_id: assets.get(tenants.ours, asset_id), lambda a: assets.delete(tenants.ours, a)):
        with pytest.raises(NotFound) as other:
            call(theirs.id)
        assert other.value.code == "ASSET_NOT_FOUND"
        assert other.value.details == {"asset_id": theirs.id}
    ours, _ = assets.upload(tenants.ours, "logo.png", PNG, "image/png")
    images, total = assets.page(tenants.ours, 10, 0, "image")
    assert total == 1 and [row.id for row in images] == [ours.id]
    assert assets.page(tenants.ours, 10, 0, "font") == ([], 0)
    assert assets.content(tenants.theirs, theirs.id)[1] == PNG


def test_keys_are_revoked_only_by_their_account_or_the_operator(tenants: Tenants) -> None:
    keys = ApiKeyService(tenants.db)
    theirs = keys.create(tenants.theirs)
    with pytest.raises(NotFound) as other:
        keys.revoke(theirs.record.id, tenants.ours)
    with pytest.raises(NotFound) as missing:
        keys.revoke("key_nope", tenants.ours)
    _same_404(other, missing)
    assert other.value.code == "API_KEY_NOT_FOUND"
    assert keys.authenticate(theirs.secret).account_id == tenants.theirs  # still valid
    with pytest.raises(NotFound):
        keys.revoke("key_nope")  # the operator's path (no account) still 404s an unknown key
    assert keys.revoke(theirs.record.id).revoked_at is not None
    assert keys.revoke(theirs.record.id, tenants.theirs).revoked_at is not None  # again: idempotent


def test_oauth_clients_are_revoked_only_by_their_account(tenants: Tenants) -> None:
    oauth = OAuthService(tenants.db, "a-service-secret-long-enough-for-hs256!", 600)
    theirs = oauth.create_client(tenants.theirs, "ci", ["templates:read"])
    with pytest.raises(NotFound) as other:
        oauth.revoke_client(tenants.ours, theirs.record.id)
    with pytest.raises(NotFound) as missing:
        oauth.revoke_client(tenants.ours, "cli_nope")
    _same_404(other, missing)
    assert (other.value.code, other.value.message) == ("OAUTH_CLIENT_NOT_FOUND", "OAuth client not found")
    # Tokens are issued by client id alone (the id and secret are the credential), whatever the caller.
    token = oauth.issue("client_credentials", theirs.record.id, theirs.secret, None)
    assert oauth.authenticate(token.token).account_id == tenants.theirs
    oauth.revoke_client(tenants.theirs, theirs.record.id)
    assert oauth.list_clients(tenants.theirs)[0].revoked_at is not None


def test_webhook_endpoints_and_deliveries_of_another_tenant_are_not_found(tenants: Tenants) -> None:
    hooks = WebhookEndpointService(tenants.db, AllowAll(), WebhookSettings())
    theirs = hooks.create(tenants.theirs, "https://example.com/hook", ["document.completed"], None)
    for call in (
        lambda endpoint_id: hooks.get(tenants.ours, endpoint_id),
        lambda endpoint_id: hooks.update(tenants.ours, endpoint_id, enabled=False),
        lambda endpoint_id: hooks.delete(tenants.ours, endpoint_id),
        lambda endpoint_id: hooks.deliveries(tenants.ours, endpoint_id, 10, 0),
    ):
        with pytest.raises(NotFound) as other:
            call(theirs.id)
        with pytest.raises(NotFound) as missing:
            call("whe_nope")
        _same_404(other, missing)
        assert other.value.code == "WEBHOOK_NOT_FOUND"
    assert hooks.get(tenants.theirs, theirs.id).enabled
    ours = hooks.create(tenants.ours, "https://example.com/ours", ["document.completed"], None)
    delivery_id = new_id("msg")
    with tenants.db.session() as session:
        session.add(
            WebhookDelivery(
                id=delivery_id,
                account_id=tenants.theirs,
                subject_id="job_x",
                target=theirs.id,
                endpoint_id=theirs.id,
                event="document.completed",
                url=theirs.url,
                payload={},
            )
        )
    for account_id, endpoint_id in ((tenants.ours, theirs.id), (tenants.ours, ours.id), (tenants.theirs, "whe_x")):
        with pytest.raises(NotFound) as wrong:
            hooks.redeliver(account_id, endpoint_id, delivery_id)
        assert wrong.value.code == "WEBHOOK_DELIVERY_NOT_FOUND"
    assert hooks.redeliver(tenants.theirs, theirs.id, delivery_id).status == "pending"


def test_job_pages_filter_by_status_newest_first(tenants: Tenants) -> None:
    with tenants.db.session() as session:
        jobs = JobRepository(session)
        for job_id, status in (("job_1", "pending"), ("job_2", "completed"), ("job_3", "pending")):
            jobs.add(Job(id=job_id, account_id=tenants.ours, operation="generate", input={}, status=status))
        jobs.add(Job(id="job_t", account_id=tenants.theirs, operation="generate", input={}, status="pending"))
    with tenants.db.session() as session:
        rows, total = JobRepository(session).page(tenants.ours, 10, 0, Job.status == "pending")
        assert total == 2 and {row.id for row in rows} == {"job_1", "job_3"}
        with pytest.raises(NotFound) as other:
            JobRepository(session).get_or_raise(tenants.ours, "job_t")
        assert other.value.code == "JOB_NOT_FOUND"
