"""The runner against a real SQLite database: claims, leases, retries, exactly-once finishing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from pressroom.accounts.service import AccountService
from pressroom.config import BillingSettings, JobSettings
from pressroom.core.errors import (
    EngineUnavailable,
    InternalError,
    PressroomError,
    QueueFull,
    RenderFailed,
    StorageFailed,
    StorageFull,
    StorageKeyInvalid,
    StorageUnavailable,
    rebuild,
)
from pressroom.core.filenames import safe_filename
from pressroom.core.principal import Principal
from pressroom.credits.service import CreditService
from pressroom.db.migrate import upgrade
from pressroom.db.models import Document, Job, WebhookDelivery
from pressroom.db.models_tenancy import CreditEntry
from pressroom.db.session import Database
from pressroom.jobs.operations import JobContext, OperationRegistry, Output
from pressroom.jobs.runner import JobRunner
from pressroom.jobs.service import JobService
from pressroom.queue.embedded import EmbeddedQueue
from pressroom.storage.filesystem import FilesystemBlobStore
from pressroom.webhooks.outbox import job_webhook_outbox


class Recorder:
    """A real operation that counts its runs and can fail on demand."""

    def __init__(self) -> None:
        self.calls = 0
        self.failures: list[Exception] = []
        self.delay_s = 0.0
        self.lock = threading.Lock()

    def __call__(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        with self.lock:
            self.calls += 1
            failure = self.failures.pop(0) if self.failures else None
        time.sleep(self.delay_s)
        if failure:
            raise failure
        return Output(data=b"%PDF-1.7 fake " + request["text"].encode(), filename="out.pdf", pages=1)


class AllowAll:
    def check_webhook_url(self, url: str) -> None:
        return None


@pytest.fixture()
def setup(
    tmp_path: Path,
) -> Iterator[tuple[Database, JobService, JobRunner, Recorder, Principal, FilesystemBlobStore]]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    account, _ = AccountService(db).get_or_create("t")
    operation = Recorder()
    registry = OperationRegistry()
    registry.register("echo", operation)
    store = FilesystemBlobStore(tmp_path / "blobs")
    settings = JobSettings(lease_s=1.0, poll_interval_s=0.05, max_attempts=3)
    runner = JobRunner(db, store, registry, settings, retention_days=1, finish_hooks=[job_webhook_outbox])
    queue = EmbeddedQueue(db, runner, settings)
    service = JobService(db, runner, queue, AllowAll(), CreditService(db, BillingSettings()))
    yield db, service, runner, operation, Principal(account.id, "key_x", "live"), store
    queue.stop()
    db.dispose()


def _count(db: Database, model: type[Any]) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_sync_job_completes_with_one_document(setup: Any) -> None:
    db, service, _, operation, principal, store = setup
    document = service.run_sync(principal, "echo", {"text": "hi"}, webhook_url="https://example.org/h")
    assert store.get(document.storage_key).endswith(b"hi")
    job = service.get(principal.account_id, document.job_id)
    assert (job.status, job.attempts, job.document_id) == ("completed", 1, document.id)
    assert (operation.calls, _count(db, Document), _count(db, WebhookDelivery)) == (1, 1, 1)


def test_a_finished_job_is_never_run_again(setup: Any) -> None:
    db, service, runner, operation, principal, _ = setup
    document = service.run_sync(principal, "echo", {"text": "once"})
    assert runner.run(document.job_id) is False
    assert operation.calls == 1 and _count(db, Document) == 1


def test_two_runners_racing_for_one_job_run_it_once(setup: Any) -> None:
    db, service, runner, operation, principal, store = setup
    operation.delay_s = 0.2
    job = service.submit(principal, "echo", {"text": "race"}, is_async=True)
    other = JobRunner(db, store, runner.operations, runner.settings, retention_days=1)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda r=r: results.append(r.run(job.id))) for r in (runner, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert operation.calls == 1 and _count(db, Document) == 1


def test_an_abandoned_job_is_reclaimed_after_its_lease_and_finished_once(setup: Any) -> None:
    db, service, runner, _operation, principal, _store = setup
    job = service.submit(principal, "echo", {"text": "crash"}, is_async=True)
    with db.session() as session:  # a worker claimed it and died: processing, lease about to run out
        from pressroom.core.clock import utcnow
        from pressroom.jobs.repository import JobRepository

        assert JobRepository(session).claim(
            job.id, "dead-worker", utcnow(), __import__("datetime").timedelta(seconds=0.3)
        )
    assert runner.run(job.id) is False  # lease still held
    time.sleep(0.4)
    assert runner.run(job.id) is True
    finished = service.get(principal.account_id, job.id)
    assert (finished.status, finished.attempts) == ("completed", 2)
    assert _count(db, Document) == 1


def test_input_errors_fail_at_once_engine_errors_are_retried(setup: Any) -> None:
    db, service, runner, operation, principal, _ = setup
    operation.failures = [RenderFailed("bad html", details={"why": "x"})]
    job = service.submit(principal, "echo", {"text": "x"}, is_async=True, webhook_url="https://example.org/h")
    runner.run(job.id)
    failed = service.get(principal.account_id, job.id)
    assert (failed.status, failed.error_code, failed.error_details) == (
        "failed",
        "RENDER_FAILED",
        {"why": "x"},
    )
    assert _count(db, WebhookDelivery) == 1 and _count(db, Document) == 0

    operation.failures = [EngineUnavailable("browser died")]
    job = service.submit(principal, "echo", {"text": "y"}, is_async=True)
    runner.run(job.id)
    assert service.get(principal.account_id, job.id).status == "pending"  # rescheduled with backoff


def test_queue_full_reschedules_without_spending_an_attempt(setup: Any) -> None:
    _, service, runner, operation, principal, _ = setup
    operation.failures = [QueueFull("busy", retry_after=0)]
    job = service.submit(principal, "echo", {"text": "z"}, is_async=True)
    runner.run(job.id)
    assert service.get(principal.account_id, job.id).attempts == 0
    assert runner.run(job.id) is True
    assert service.get(principal.account_id, job.id).status == "completed"


def test_sync_failure_raises_the_original_error_with_the_job_id(setup: Any) -> None:
    _, service, _, operation, principal, _ = setup
    operation.failures = [RenderFailed("nope")]
    with pytest.raises(RenderFailed) as raised:
        service.run_sync(principal, "echo", {"text": "x"})
    assert raised.value.status == 422 and raised.value.details["job_id"].startswith("job_")


def test_embedded_queue_runs_async_jobs(setup: Any) -> None:
    db, service, _runner, operation, principal, _ = setup
    queue = service.queue
    queue.start()
    jobs = [service.submit(principal, "echo", {"text": str(i)}, is_async=True) for i in range(10)]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(service.get(principal.account_id, j.id).status == "completed" for j in jobs):
            break
        time.sleep(0.05)
    assert all(service.get(principal.account_id, j.id).status == "completed" for j in jobs)
    assert operation.calls == 10 and _count(db, Document) == 10
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.status != "completed")) == 0


def test_sync_queue_full_is_a_429_with_retry_after(setup: Any) -> None:
    _, service, _, operation, principal, _ = setup
    operation.failures = [QueueFull("busy", retry_after=3)]
    with pytest.raises(QueueFull) as raised:
        service.run_sync(principal, "echo", {"text": "x"})
    assert raised.value.status == 429 and raised.value.retry_after == 3


def test_sync_engine_failure_is_not_retried_behind_the_callers_back(setup: Any) -> None:
    _, service, _, operation, principal, _ = setup
    operation.failures = [EngineUnavailable("browser gone")]
    with pytest.raises(EngineUnavailable):
        service.run_sync(principal, "echo", {"text": "x"})
    assert operation.calls == 1


def _ledger(db: Database, job_id: str) -> list[str]:
    with db.session() as session:
        return sorted(session.scalars(select(CreditEntry.kind).where(CreditEntry.job_id == job_id)))


def test_a_sync_job_is_created_claimed_and_finished_in_two_transactions(setup: Any) -> None:
    db, service, runner, _operation, principal, store = setup
    runner.finish_hooks.append(service.credits.settle_or_release)
    service.credits.credits_left(principal.account_id)  # grants this month's allowance before counting
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: commits.append(1))
    result = service.execute_sync(principal, "echo", {"text": "two"})
    assert len(commits) == 2  # create + claim + reserve, then complete + settle + outbox: nothing read back
    assert result.data == store.get(result.document.storage_key) and result.data.endswith(b"two")
    assert result.price == 1 and result.credits_left == service.credits.credits_left(principal.account_id)
    job = service.get(principal.account_id, result.document.job_id)
    assert (job.status, job.attempts, job.document_id, job.lease_owner) == ("completed", 1, result.document.id, None)
    assert _ledger(db, job.id) == ["reserve", "settle"]


def test_a_sync_job_whose_process_died_is_finished_once_by_another_runner(setup: Any) -> None:
    db, service, runner, operation, principal, store = setup
    runner.finish_hooks.append(service.credits.settle_or_release)
    with db.session() as session:  # written claimed by this runner, which then "dies" before running it
        job = service.create_in(session, principal, "echo", {"text": "orphan"}, is_async=False)
    assert (job.status, job.lease_owner) == ("processing", runner.owner)
    other = JobRunner(db, store, runner.operations, runner.settings, 1, finish_hooks=runner.finish_hooks)
    assert other.run_next() is False  # its lease still runs
    time.sleep(1.1)
    assert other.run_next() is True
    finished = service.get(principal.account_id, job.id)
    assert (finished.status, finished.attempts) == ("completed", 2)
    assert operation.calls == 1 and _count(db, Document) == 1 and _ledger(db, job.id) == ["reserve", "settle"]


def test_a_sync_caller_whose_lease_ran_out_gets_the_result_of_the_runner_that_took_over(setup: Any) -> None:
    db, service, runner, operation, principal, store = setup
    operation.delay_s = 1.6  # longer than the 1 s lease, and no heartbeat runs in this test
    fast = OperationRegistry()
    fast.register("echo", Recorder())
    other = JobRunner(db, store, fast, runner.settings, retention_days=1)
    results: list[Any] = []
    caller = threading.Thread(target=lambda: results.append(service.execute_sync(principal, "echo", {"text": "a"})))
    caller.start()
    deadline = time.monotonic() + 10
    while not other.run_next() and time.monotonic() < deadline:
        time.sleep(0.05)
    caller.join()
    (result,) = results
    assert _count(db, Document) == 1 and result.data.endswith(b"a")
    with db.session() as session:
        job = session.get(Job, result.document.job_id)
        assert job is not None and (job.status, job.attempts, job.document_id) == ("completed", 2, result.document.id)


# -- storage keys and storage errors (issue #12, items 1 and 10) ---------------------------------------------
class NamedRecorder(Recorder):
    """An operation whose output carries a hostile file name, as a template name or `filename` could."""

    def __init__(self, filename: str) -> None:
        super().__init__()
        self.filename = filename

    def __call__(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        with self.lock:
            self.calls += 1
        return Output(data=b"%PDF-1.7 named", filename=self.filename, pages=1)


@pytest.mark.parametrize("filename", ["../../../escape.pdf", "/etc/x.pdf", "Счёт.pdf", "a\x00b.pdf", "..", "x" * 300])
def test_the_storage_key_never_contains_the_file_name(setup: Any, filename: str) -> None:
    _db, service, runner, _operation, principal, store = setup
    runner.operations.register("named", NamedRecorder(filename))
    document = service.run_sync(principal, "named", {})
    assert document.storage_key == f"{principal.account_id}/{document.job_id}/document.pdf"
    # The name stays display metadata, cleaned once more by the runner (operations already clean it).
    assert document.filename == safe_filename(filename, None, extension="")
    assert "/" not in document.filename and "\x00" not in document.filename and document.filename
    blobs = [str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file()]
    assert blobs == [document.storage_key]


def test_a_deterministic_storage_error_fails_the_job_once_and_releases_its_credit(setup: Any) -> None:
    db, service, runner, operation, principal, store = setup
    runner.finish_hooks.append(service.credits.settle_or_release)
    # A real deterministic failure: the account's directory in the store is occupied by a file (ENOTDIR).
    (store.root / principal.account_id).write_bytes(b"not a directory")
    job = service.submit(principal, "echo", {"text": "x"}, is_async=True, webhook_url="https://example.org/h")
    assert runner.run(job.id) is True
    failed = service.get(principal.account_id, job.id)
    assert (failed.status, failed.error_code, failed.attempts) == ("failed", "STORAGE_FAILED", 1)
    assert failed.error_details is not None and failed.error_details["errno"] == "ENOTDIR"
    assert runner.run(job.id) is False  # finished: never picked up again
    assert operation.calls == 1 and _count(db, Document) == 0 and _count(db, WebhookDelivery) == 1
    assert _ledger(db, job.id) == ["release", "reserve"]


def test_a_sync_storage_error_answers_its_code_once(setup: Any) -> None:
    db, service, _runner, operation, principal, store = setup
    (store.root / principal.account_id).write_bytes(b"not a directory")
    with pytest.raises(StorageFailed) as raised:
        service.run_sync(principal, "echo", {"text": "x"})
    assert raised.value.code == "STORAGE_FAILED" and raised.value.status == 500
    assert operation.calls == 1 and _count(db, Document) == 0


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (StorageFull("disk full"), False),
        (StorageKeyInvalid("bad key"), False),
        (StorageFailed("access denied"), False),
        (StorageUnavailable("S3 answered 503"), True),
        (EngineUnavailable("browser died"), True),
        (InternalError("sandbox worker raised"), True),
        (RenderFailed("bad html"), False),
    ],
)
def test_retries_are_decided_by_the_error_type(setup: Any, error: PressroomError, retried: bool) -> None:
    _db, service, runner, operation, principal, _store = setup
    operation.failures = [error]
    job = service.submit(principal, "echo", {"text": "x"}, is_async=True)
    runner.run(job.id)
    after = service.get(principal.account_id, job.id)
    assert (after.status, after.error_code) == (("pending", None) if retried else ("failed", error.code))


def test_an_internal_error_rebuilt_from_a_sandbox_reply_is_still_retried() -> None:
    # The PDF sandbox and WeasyPrint workers send (code, message, details) back; rebuild() must give the
    # same transient class the runner decides by, not the bare root class.
    rebuilt = rebuild("INTERNAL_ERROR", "KeyError: 'x'")
    assert isinstance(rebuilt, InternalError) and rebuilt.transient and rebuilt.status == 500
    assert not rebuild("STORAGE_FULL", "full").transient and rebuild("STORAGE_FULL", "full").status == 507


def test_the_operation_report_comes_back_with_the_job_and_is_kept_with_it(setup: Any) -> None:
    from pressroom.db.models_pdf import PdfJobReport

    db, service, runner, _operation, principal, _store = setup

    def measured(ctx: JobContext, request: dict[str, Any]) -> Output:
        return Output(data=b"%PDF-1.7 m", filename="m.pdf", pages=2, report={"steps": ["merge"], "bytes_out": 10})

    runner.operations.register("measured", measured)
    result = service.execute_sync(principal, "measured", {})
    assert result.report == {"steps": ["merge"], "bytes_out": 10}
    with db.session() as session:
        row = session.get(PdfJobReport, result.document.job_id)
        assert row is not None and row.report == result.report and row.account_id == principal.account_id
    plain = service.execute_sync(principal, "echo", {"text": "no report"})
    assert plain.report is None and _count(db, PdfJobReport) == 1


def test_the_document_row_of_a_finished_job_is_written_with_a_safe_filename(setup: Any) -> None:
    db, service, runner, _operation, principal, _store = setup

    def unsafe(ctx: JobContext, request: dict[str, Any]) -> Output:
        return Output(data=b"%PDF-1.7 u", filename="../../etc/pass\x00wd.pdf", pages=1, template_id=None)

    runner.operations.register("unsafe", unsafe)
    document = service.run_sync(principal, "unsafe", {}, metadata={"order": 7})
    with db.session() as session:
        stored = session.get(Document, document.id)
        assert stored is not None
        assert stored.filename == safe_filename("../../etc/pass\x00wd.pdf", None, extension="")
        assert "/" not in stored.filename and "\x00" not in stored.filename
        assert (stored.job_id, stored.doc_metadata, stored.size_bytes) == (document.job_id, {"order": 7}, 10)


def test_documents_of_finished_jobs_page_newest_first_by_template_and_status(setup: Any, tmp_path: Path) -> None:
    from pressroom.core.errors import DocumentNotFound
    from pressroom.documents.service import DocumentService
    from pressroom.storage.signing import UrlSigner

    db, service, runner, _operation, principal, store = setup

    def templated(ctx: JobContext, request: dict[str, Any]) -> Output:
        return Output(data=b"%PDF-1.7 t", filename="t.pdf", pages=1, template_id=request["template"])

    runner.operations.register("templated", templated)
    made = [service.run_sync(principal, "templated", {"template": name}) for name in ("tpl_a", "tpl_b", "tpl_a")]
    documents = DocumentService(db, store, UrlSigner("s" * 32, "http://test"), 60)
    rows, total = documents.page(principal.account_id, 10, 0, None, "tpl_a")
    assert total == 2 and {row.id for row in rows} == {made[0].id, made[2].id}
    rows, total = documents.page(principal.account_id, 10, 0, "completed", None)
    assert total == 3 and rows[0].created_at >= rows[-1].created_at
    assert documents.page(principal.account_id, 10, 0, "expired", None) == ([], 0)
    documents.delete(principal.account_id, made[1].id)
    with pytest.raises(DocumentNotFound):
        documents.get(principal.account_id, made[1].id)
    with pytest.raises(DocumentNotFound):
        documents.get("acct_other", made[0].id)  # another account's row reads as missing
