"""One contract, every job queue: the embedded queue (worker threads polling the jobs table) and the Celery
queue over each broker that answers here (kombu's in-memory transport always; Redis and RabbitMQ when they
run, as the rest of the suite uses them). The Celery side is consumed in this process the way a worker
consumes it: each delivered message's job id goes to ``CeleryQueue.handle`` (what the worker's task calls).

What every queue must do: run each enqueued job exactly once, carry only job ids, lose no committed job
(a lost wake-up or message is recovered from the jobs table), record a failing job as failed, and never
raise from ``enqueue``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pressroom.accounts.service import AccountService
from pressroom.config import CelerySettings, JobSettings, Settings
from pressroom.core.errors import ValidationFailed
from pressroom.core.ids import new_id
from pressroom.db.migrate import upgrade
from pressroom.db.models import Job
from pressroom.db.session import Database
from pressroom.jobs.operations import JobContext, OperationRegistry, Output
from pressroom.jobs.repository import JobRepository
from pressroom.jobs.runner import JobRunner
from pressroom.queue.base import JobQueue
from pressroom.queue.celery import CeleryQueue
from pressroom.queue.embedded import EmbeddedQueue
from pressroom.storage.memory import MemoryBlobStore
from tests.support import drop_rabbitmq_vhost, rabbitmq_vhost, shared_redis_url

FINAL = ("completed", "failed", "canceled")


@dataclass
class Calls:
    ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def echo(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        with self.lock:
            self.ids.append(ctx.job_id)
        return Output(data=b"%PDF-1.7 " + request["text"].encode(), filename="out.pdf", pages=1)

    def refuse(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        with self.lock:
            self.ids.append(ctx.job_id)
        raise ValidationFailed("this input can never succeed")


class Harness:
    """A queue under test, with the jobs table behind it and a way to have its messages consumed."""

    def __init__(self, kind: str, tmp_path: Path, broker_url: str | None) -> None:
        url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
        upgrade(url)
        self.db = Database(url)
        self.account_id = AccountService(self.db).get_or_create("queue-contract")[0].id
        self.calls = Calls()
        registry = OperationRegistry()
        registry.register("echo", self.calls.echo)
        registry.register("refuse", self.calls.refuse)
        self.settings = Settings(
            data_dir=tmp_path,
            queue="celery" if kind == "celery" else "embedded",
            broker_url=broker_url,
            jobs=JobSettings(workers=2, poll_interval_s=0.05, lease_s=5.0, max_attempts=2),
            celery=CelerySettings(queue_name=f"contract-{uuid.uuid4().hex[:8]}", requeue_after_s=0.2),
        )
        self.runner = JobRunner(self.db, MemoryBlobStore(), registry, self.settings.jobs, retention_days=1)
        self.celery: CeleryQueue | None = None
        self.queue: JobQueue
        if kind == "celery":
            self.celery = CeleryQueue(self.runner, self.settings)
            self.queue = self.celery
        else:
            self.queue = EmbeddedQueue(self.db, self.runner, self.settings.jobs)
        self._consumer: threading.Thread | None = None
        self._stop = threading.Event()
        self.carried: list[Any] = []  # every message body the broker delivered (Celery)

    def job(self, operation: str = "echo") -> str:
        """A committed async job row, as the job service writes it before enqueueing."""
        job = Job(
            id=new_id("job"), account_id=self.account_id, operation=operation, is_async=True, input={"text": "hi"}
        )
        with self.db.session() as session:
            JobRepository(session).add(job)
        return job.id

    def start(self) -> None:
        self.queue.start()
        if self.celery is not None:
            self._consumer = threading.Thread(target=self._consume, args=(self.celery,), daemon=True)
            self._consumer.start()

    def _consume(self, celery: CeleryQueue) -> None:
        # What a worker does with each message: hand the job id to the queue; a countdown means "later".
        with celery.app.connection_for_read() as connection:
            simple = connection.SimpleQueue(self.settings.celery.queue_name)
            try:
                while not self._stop.is_set():
                    try:
                        message = simple.get(timeout=0.1)
                    except simple.Empty:
                        continue
                    args, kwargs, _ = message.decode()
                    self.carried.append((args, kwargs))
                    message.ack()
                    countdown = celery.handle(args[0])
                    if countdown is not None:
                        time.sleep(min(countdown, 0.2))
                        celery.enqueue(args[0])
            finally:
                simple.close()

    def status(self, job_id: str) -> str:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job.status

    def wait(self, job_ids: list[str], timeout_s: float = 20, tick: Callable[[], object] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(self.status(job_id) in FINAL for job_id in job_ids):
                return
            if tick is not None:
                tick()
            time.sleep(0.05)
        raise AssertionError(f"jobs not finished: {[(j, self.status(j)) for j in job_ids]}")

    def stop(self) -> None:
        """Stop consuming: the queue's own threads, and (Celery) the worker's consumer."""
        self._stop.set()
        if self._consumer is not None:
            self._consumer.join(5)
        self.queue.stop(timeout_s=5)

    def close(self) -> None:
        self.stop()
        self.db.dispose()


@pytest.fixture(scope="module")
def rabbitmq_broker() -> Iterator[str | None]:
    """One vhost for the module (creating one costs seconds); every test has a queue name of its own."""
    vhost = rabbitmq_vhost()
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}" if vhost else None
    if vhost is not None:
        drop_rabbitmq_vhost(vhost)


@pytest.fixture(params=["embedded", "celery-memory", "celery-redis", "celery-rabbitmq"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    broker: str | None = None
    if request.param == "celery-memory":
        broker = f"memory://localhost/{uuid.uuid4().hex[:8]}"
    elif request.param == "celery-redis":
        redis = shared_redis_url()
        if redis is None:
            pytest.skip("Redis is not running on 127.0.0.1:6379")
        broker = redis.rsplit("/", 1)[0] + "/12"
    elif request.param == "celery-rabbitmq":
        broker = request.getfixturevalue("rabbitmq_broker")
        if broker is None:
            pytest.skip("RabbitMQ (with rabbitmqctl) is not running on 127.0.0.1:5672")
    env = Harness("embedded" if request.param == "embedded" else "celery", tmp_path, broker)
    try:
        yield env
    finally:
        env.close()


def test_each_enqueued_job_runs_exactly_once(harness: Harness) -> None:
    harness.start()
    ids = [harness.job() for _ in range(6)]
    for job_id in ids:
        harness.queue.enqueue(job_id)
    harness.wait(ids)
    assert [harness.status(job_id) for job_id in ids] == ["completed"] * 6
    assert sorted(harness.calls.ids) == sorted(ids)  # each once, none twice
    if harness.celery is not None:  # a message carries the job id and nothing else
        assert sorted(args[0] for args, _ in harness.carried) == sorted(ids)
        assert all(len(args) == 1 and kwargs == {} for args, kwargs in harness.carried)


def test_a_job_enqueued_before_start_is_run_after_it(harness: Harness) -> None:
    job_id = harness.job()
    harness.queue.enqueue(job_id)
    harness.start()
    harness.wait([job_id])
    assert harness.status(job_id) == "completed" and harness.calls.ids == [job_id]


def test_a_committed_job_whose_message_was_lost_still_runs(harness: Harness) -> None:
    harness.start()
    job_id = harness.job()  # committed, never enqueued: a crash between commit and send
    # The embedded queue finds it on its next poll; Celery's sweeper resends it (its maintenance thread
    # sweeps every celery.sweep_interval_s; here the test sweeps at once).
    tick = harness.celery.sweep if harness.celery is not None else None
    time.sleep(0.3)  # past celery.requeue_after_s: the job is stale enough to be resent
    harness.wait([job_id], tick=tick)
    assert harness.status(job_id) == "completed" and harness.calls.ids == [job_id]


def test_a_job_that_cannot_succeed_fails_once(harness: Harness) -> None:
    harness.start()
    job_id = harness.job("refuse")
    harness.queue.enqueue(job_id)
    harness.wait([job_id])
    assert harness.status(job_id) == "failed" and harness.calls.ids == [job_id]
    with harness.db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.error_code == "VALIDATION_ERROR"


def test_enqueue_after_stop_does_not_raise_and_the_job_is_kept(harness: Harness) -> None:
    harness.start()
    harness.stop()
    job_id = harness.job()
    harness.queue.enqueue(job_id)  # never raises: the committed row is what counts
    assert harness.status(job_id) == "pending"
