"""The PDF operations through their services and the job runner, on the in-process PDF engine: real
pipelines, a real SQLite database and blob store, no sandbox processes and no server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from sqlalchemy import select

from pressroom.accounts.service import AccountService
from pressroom.config import BillingSettings, JobSettings, PdfSettings, Settings
from pressroom.core.errors import IncompatibleOptions, PdfLimitExceeded
from pressroom.core.principal import Principal
from pressroom.credits.service import CreditService
from pressroom.db.migrate import upgrade
from pressroom.db.models_pdf import PdfJobReport
from pressroom.db.session import Database
from pressroom.documents.service import DocumentService
from pressroom.jobs.operations import JobContext, OperationRegistry
from pressroom.jobs.runner import JobRunner
from pressroom.jobs.service import JobService
from pressroom.pdf.inprocess import InProcessPdfEngine
from pressroom.pdfops.finishing import PdfFinishing
from pressroom.pdfops.operations import PdfOperations
from pressroom.pdfops.plans import PlanBuilder
from pressroom.pdfops.signing_keys import SigningKeys
from pressroom.pdfops.sources import PdfSources
from pressroom.queue.embedded import EmbeddedQueue
from pressroom.storage.filesystem import FilesystemBlobStore
from pressroom.storage.signing import UrlSigner
from tests.pdf_support import pyhanko_verdict, self_signed_pkcs12


def _pdf(pages: int, width: float = 612) -> bytes:
    document = pikepdf.new()
    for _ in range(pages):
        document.add_blank_page(page_size=(width, 792))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


class PageTemplates:
    """Template sources: a template renders to as many blank pages as its data asks for."""

    def render_template(self, account_id: str, template_id: str, data: dict[str, Any] | None) -> bytes:
        return _pdf(int((data or {}).get("pages", 1)))


class Web:
    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}

    def __call__(self, url: str, max_bytes: int) -> bytes:
        return self.pages[url]


class AllowAll:
    def check_webhook_url(self, url: str) -> None:
        return None


@dataclass
class World:
    db: Database
    store: FilesystemBlobStore
    jobs: JobService
    operations: PdfOperations
    sources: PdfSources
    keys: SigningKeys
    finishing: PdfFinishing
    web: Web
    principal: Principal

    def run(self, operation: str, request: dict[str, Any], files: list[bytes] | None = None) -> Any:
        payload = {**request, "uploads": self.sources.store_uploads(self.principal.account_id, files or [])}
        return self.jobs.execute_sync(self.principal, operation, payload)


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    settings = Settings(data_dir=tmp_path, secret_key="s" * 32, pdf=PdfSettings(max_sources=4))
    account, _ = AccountService(db).get_or_create("t", plan="pro")  # the free plan signs and encrypts nothing
    store = FilesystemBlobStore(tmp_path / "blobs")
    documents = DocumentService(db, store, UrlSigner("s" * 32, "http://test"), 3600)
    engine = InProcessPdfEngine()
    web = Web()
    sources = PdfSources(settings.pdf, db, store, documents, PageTemplates(), web)
    keys = SigningKeys("s" * 32, db, engine)
    plans = PlanBuilder(settings.pdf, sources, keys)
    operations = PdfOperations(settings.pdf, plans, sources, documents, engine)
    registry = OperationRegistry()
    operations.register(registry)
    job_settings = JobSettings(lease_s=30.0, poll_interval_s=0.05, max_attempts=3)
    runner = JobRunner(db, store, registry, job_settings, retention_days=1)
    queue = EmbeddedQueue(db, runner, job_settings)
    jobs = JobService(db, runner, queue, AllowAll(), CreditService(db, BillingSettings()))
    principal = Principal(account.id, "key_x", "live")
    yield World(db, store, jobs, operations, sources, keys, PdfFinishing(plans, sources, engine), web, principal)
    queue.stop()
    db.dispose()


def test_merge_of_uploads_and_a_url_sums_pages_and_its_report_comes_back_with_the_job(world: World) -> None:
    world.web.pages["https://files.example/three.pdf"] = _pdf(3)
    result = world.run(
        "merge",
        {"sources": [{"type": "file", "index": 0}, {"type": "url", "url": "https://files.example/three.pdf"}]},
        files=[_pdf(2)],
    )
    assert len(pikepdf.open(io.BytesIO(result.data)).pages) == 5
    assert result.document.pages == 5 and result.document.filename == "merged.pdf"
    assert result.report["operation"] == "merge" and result.report["steps"] == ["merge"]
    assert result.report["pages"] == 5 and result.report["bytes_out"] == len(result.data)
    # stored with the finished job, in its transaction
    with world.db.session() as session:
        row = session.scalar(select(PdfJobReport).where(PdfJobReport.job_id == result.document.job_id))
        assert row is not None and row.report == result.report
    # the job's inputs are gone once its output exists
    upload_dir = world.store.root / "uploads"
    assert not [path for path in upload_dir.rglob("*") if path.is_file()]


def test_split_of_a_stored_document_with_options_metadata(world: World) -> None:
    merged = world.run(
        "merge", {"sources": [{"type": "file", "index": 0}, {"type": "file", "index": 1}]}, [_pdf(1), _pdf(2)]
    )
    result = world.run(
        "split",
        {
            "source": {"type": "document", "id": merged.document.id},
            "pages": "2-3",
            "options": {"filename": "tail", "pdf": {"metadata": {"title": "Tail"}}},
        },
    )
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert len(pdf.pages) == 2
        assert str(pdf.docinfo["/Title"]) == "Tail"
    assert result.report["steps"] == ["split", "metadata"]
    assert result.document.filename == "tail.pdf"


def test_encrypt_writes_aes256_that_opens_only_with_the_password(world: World) -> None:
    result = world.run(
        "encrypt",
        {"source": {"type": "template", "id": "tpl_x", "data": {"pages": 2}}, "encryption": {"user_password": "pw"}},
    )
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(result.data))
    with pikepdf.open(io.BytesIO(result.data), password="pw") as pdf:
        assert pdf.is_encrypted and len(pdf.pages) == 2
        assert pdf.encryption.R == 6  # AES-256 (PDF 2.0 / ISO 32000-2)
    assert result.report["steps"] == ["encrypt"]


def test_an_operation_step_wins_over_options_and_incompatible_steps_are_refused(world: World) -> None:
    result = world.run(
        "encrypt",
        {
            "source": {"type": "file", "index": 0},
            "encryption": {"user_password": "own"},
            "options": {"pdf": {"password": "from-options"}},
        },
        files=[_pdf(1)],
    )
    with pikepdf.open(io.BytesIO(result.data), password="own") as pdf:
        assert pdf.is_encrypted
    with pytest.raises(IncompatibleOptions):
        world.run("pdfa", {"source": {"type": "file", "index": 0}, "options": {"pdf": {"password": "x"}}}, [_pdf(1)])


def test_too_many_sources_are_refused_before_any_pdf_work(world: World) -> None:
    sources = [{"type": "template", "id": f"tpl_{i}"} for i in range(world.sources.limits.max_sources + 1)]
    with pytest.raises(PdfLimitExceeded):
        world.run("merge", {"sources": sources})


def test_a_stored_signing_key_signs_a_document_that_validates(world: World) -> None:
    pkcs12, cert_pem = self_signed_pkcs12(b"secret")
    key = world.keys.create_key(world.principal.account_id, "ops", pkcs12, "secret")
    assert "Pressroom Test Signer" in key.subject
    assert key.ciphertext and pkcs12 not in key.ciphertext  # encrypted at rest
    assert world.keys.material(world.principal.account_id, key.id) == (pkcs12, "secret")
    result = world.run("sign", {"source": {"type": "file", "index": 0}, "key_id": key.id}, [_pdf(1)])
    assert result.report["steps"] == ["sign"]
    assert pyhanko_verdict(result.data, cert_pem) == (True, True)


def test_preview_renders_a_page_of_a_stored_document(world: World) -> None:
    merged = world.run(
        "merge", {"sources": [{"type": "file", "index": 0}, {"type": "file", "index": 1}]}, [_pdf(1), _pdf(1)]
    )
    png = world.operations.preview(world.principal.account_id, merged.document.id, page=2, dpi=36, password=None)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_finishing_leaves_live_renders_alone_and_applies_options_and_the_test_mark(world: World) -> None:
    rendered = _pdf(2)
    live = JobContext("job_1", world.principal.account_id, "live", 1)
    assert world.finishing.finish(live, rendered, None) == (rendered, None, None)
    data, pages, report = world.finishing.finish(live, rendered, {"password": "pw"})
    assert pages == 2 and report is not None and report["steps"] == ["encrypt"]
    with pikepdf.open(io.BytesIO(data), password="pw") as pdf:
        assert pdf.is_encrypted and len(pdf.pages) == 2
    test = JobContext("job_2", world.principal.account_id, "test", 1)
    data, pages, report = world.finishing.finish(test, rendered, {"metadata": {"title": "T"}})
    assert report is not None and report["operation"] == "options.pdf"
    assert report["steps"] == ["metadata", "test-watermark"]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 2 and str(pdf.docinfo["/Title"]) == "T"
        assert "/XObject" in pdf.pages[0].Resources  # the mark: a blank page has no XObject of its own
