"""A batch ends exactly once on PostgreSQL even when its last jobs finish at the same instant on two runners.

Each job's final transaction increments the batch's counter with one UPDATE; the row lock serializes
the two finishers, so exactly one of them sees ``finished == count`` and writes the batch webhook.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pressroom.accounts.service import AccountService
from pressroom.batches.repository import BatchRepository
from pressroom.batches.service import BATCH_EVENT, BatchService
from pressroom.config import BatchSettings, JobSettings
from pressroom.core.ids import new_id
from pressroom.db.migrate import upgrade
from pressroom.db.models import Job, WebhookDelivery
from pressroom.db.models_batches import Batch
from pressroom.db.session import Database
from pressroom.jobs.operations import JobContext, OperationRegistry, Output
from pressroom.jobs.repository import JobRepository
from pressroom.jobs.runner import JobRunner
from pressroom.storage.filesystem import FilesystemBlobStore
from tests.support import fresh_postgres_database, postgres_url, require_service


@pytest.fixture()
def database() -> Iterator[Database]:
    base = postgres_url()
    require_service(base is not None, "PostgreSQL is not reachable on 127.0.0.1:5432")
    assert base is not None
    url = fresh_postgres_database(base)
    upgrade(url)
    db = Database(url)
    yield db
    db.dispose()


def test_last_jobs_finishing_together_end_the_batch_once(database: Database, tmp_path: Path) -> None:
    barrier = threading.Barrier(2)

    def render(ctx: JobContext, request: dict[str, Any]) -> Output:
        barrier.wait(timeout=10)  # both runners finish at the same moment
        return Output(data=b"%PDF-1.7", filename="x.pdf", pages=1)

    registry = OperationRegistry()
    registry.register("echo", render)
    batches = BatchService(database, None, None, None, None, BatchSettings())  # type: ignore[arg-type]
    store = FilesystemBlobStore(tmp_path)
    settings = JobSettings(lease_s=30)
    runners = [
        JobRunner(database, store, registry, settings, retention_days=1, finish_hooks=[batches.on_job_finished])
        for _ in range(2)
    ]
    account_id = AccountService(database).get_or_create("counting")[0].id
    rounds = 10
    batch_ids = []
    for _ in range(rounds):
        with database.session() as session:
            jobs = [
                JobRepository(session).add(
                    Job(id=new_id("job"), account_id=account_id, operation="echo", is_async=True, input={})
                )
                for _ in range(2)
            ]
            batch = Batch(
                id=new_id("bat"),
                account_id=account_id,
                operation="echo",
                count=2,
                finished=0,
                failed=0,
                webhook_url="https://example.org/batch",
                batch_metadata={},
            )
            BatchRepository(session).add(batch, [j.id for j in jobs])
        threads = [threading.Thread(target=r.run, args=(j.id,)) for r, j in zip(runners, jobs, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        batch_ids.append(batch.id)

    time.sleep(0.1)
    with database.session() as session:
        rows = {b.id: (b.status, b.finished) for b in session.scalars(select(Batch))}
        hooks = list(session.scalars(select(WebhookDelivery.subject_id).where(WebhookDelivery.event == BATCH_EVENT)))
    assert rows == dict.fromkeys(batch_ids, ("completed", 2))
    assert sorted(hooks) == sorted(batch_ids)  # one batch.completed per batch, never zero, never two
