"""The Celery queue's own logic against a real database and kombu's in-memory broker (no worker process).

What is checked: the delivery settings the design relies on, that messages carry only job ids, what a
delivered task does in every job state (run, retry later, drop), the sweeper that re-enqueues jobs whose
message was lost, and poison jobs (abandoned with every attempt spent) failing instead of crashing on.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from pressroom.accounts.service import AccountService
from pressroom.config import CelerySettings, JobSettings, Settings
from pressroom.core.clock import utcnow
from pressroom.core.ids import new_id
from pressroom.db.migrate import upgrade
from pressroom.db.models import Document, Job
from pressroom.db.session import Database
from pressroom.jobs.operations import JobContext, OperationRegistry, Output
from pressroom.jobs.repository import JobRepository
from pressroom.jobs.runner import JobRunner
from pressroom.queue.base import IDLE_POLL_S, next_poll_interval
from pressroom.queue.celery import TASK_NAME, CeleryQueue, create_celery_app
from pressroom.storage.filesystem import FilesystemBlobStore


class Echo:
    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, ctx: JobContext, request: dict[str, Any]) -> Output:
        with self.lock:
            self.calls += 1
        return Output(data=b"%PDF-1.7 " + request["text"].encode(), filename="out.pdf", pages=1)


class Env:
    def __init__(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
        upgrade(url)
        self.db = Database(url)
        self.account_id = AccountService(self.db).get_or_create("celery-unit")[0].id
        self.echo = Echo()
        registry = OperationRegistry()
        registry.register("echo", self.echo)
        self.settings = Settings(
            data_dir=tmp_path,
            queue="celery",
            broker_url="memory://",
            jobs=JobSettings(lease_s=1.0, max_attempts=3),
            celery=CelerySettings(queue_name=f"unit-{uuid.uuid4().hex[:6]}", requeue_after_s=0.2),
        )
        store = FilesystemBlobStore(tmp_path / "blobs")
        self.finished: list[tuple[str, str]] = []  # (job id, final status), from the finish hook
        self.runner = JobRunner(
            self.db, store, registry, self.settings.jobs, retention_days=1, finish_hooks=[self._on_finished]
        )
        self.queue = CeleryQueue(self.runner, self.settings)

    def _on_finished(self, session: Any, job: Job, document: Document | None) -> None:
        self.finished.append((job.id, job.status))

    def job(self, **values: Any) -> str:
        job = Job(
            id=new_id("job"),
            account_id=self.account_id,
            operation="echo",
            is_async=True,
            input={"text": "hello"},
            webhook_url="https://example.org/hook",
            **values,
        )
        with self.db.session() as session:
            JobRepository(session).add(job)
        return job.id

    def row(self, job_id: str) -> Job:
        with self.db.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    def set(self, job_id: str, **values: Any) -> None:
        with self.db.session() as session:
            session.execute(update(Job).where(Job.id == job_id).values(**values))

    def messages(self) -> list[Any]:
        """Drain the in-memory broker queue: the job ids it carried, in order."""
        ids = []
        with self.queue.app.connection_for_read() as connection:
            simple = connection.SimpleQueue(self.settings.celery.queue_name)
            try:
                while True:
                    message = simple.get(block=False)
                    args, _kwargs, _embed = message.decode()  # Celery's message protocol 2
                    ids.extend(args)
                    message.ack()
            except simple.Empty:
                pass
            finally:
                simple.close()
        return ids


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[Env]:
    environment = Env(tmp_path)
    yield environment
    environment.queue.stop()
    environment.db.dispose()


def test_delivery_settings_are_the_ones_the_design_relies_on() -> None:
    app = create_celery_app(Settings(queue="celery", broker_url="redis://127.0.0.1:6379/0"))
    conf = app.conf
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1 and conf.task_ignore_result is True
    assert conf.broker_transport_options["visibility_timeout"] == 3600
    task = app.tasks[TASK_NAME]
    assert task.acks_late is True and task.reject_on_worker_lost is True
    amqp = create_celery_app(Settings(queue="celery", broker_url="amqp://guest:guest@127.0.0.1//"))
    assert amqp.conf.broker_transport_options == {"confirm_publish": True}
    with pytest.raises(ValueError, match="PRESSROOM_BROKER_URL"):
        create_celery_app(Settings(queue="celery"))


def test_messages_carry_only_the_job_id(env: Env) -> None:
    job_id = env.job()
    env.queue.enqueue(job_id)
    with env.queue.app.connection_for_read() as connection:
        simple = connection.SimpleQueue(env.settings.celery.queue_name)
        message = simple.get(timeout=2)
        assert message.headers["task"] == TASK_NAME
        args, kwargs, _ = message.decode()
        assert (args, kwargs) == ([job_id], {})  # no payload, no tenant data: the row is the truth
        message.ack()
        simple.close()


def test_a_delivered_job_runs_once_then_redeliveries_are_dropped(env: Env) -> None:
    job_id = env.job()
    assert env.queue.handle(job_id) is None
    assert env.row(job_id).status == "completed" and env.echo.calls == 1
    assert env.queue.handle(job_id) is None  # a duplicate message: nothing runs again
    assert env.echo.calls == 1
    assert env.queue.handle("job_unknown") is None


def test_a_job_held_by_another_runner_comes_back_when_its_lease_would_end(env: Env) -> None:
    job_id = env.job()
    with env.db.session() as session:
        assert JobRepository(session).claim(job_id, "runner-1-dead", utcnow(), timedelta(seconds=3))
    countdown = env.queue.handle(job_id)
    assert countdown is not None and 3.0 <= countdown <= 3.6
    assert env.echo.calls == 0
    env.set(job_id, lease_expires_at=utcnow() - timedelta(seconds=1))  # the holder died, its lease ran out
    assert env.queue.handle(job_id) is None
    job = env.row(job_id)
    assert (job.status, job.attempts) == ("completed", 2)


def test_a_rescheduled_job_comes_back_when_it_is_due(env: Env) -> None:
    job_id = env.job(lease_expires_at=utcnow() + timedelta(seconds=5))  # pending, not before 5 s from now
    countdown = env.queue.handle(job_id)
    assert countdown is not None and 4.0 <= countdown <= 5.0
    assert env.row(job_id).status == "pending" and env.echo.calls == 0


def test_poison_job_fails_once_every_attempt_died_with_its_worker(env: Env) -> None:
    job_id = env.job()
    env.set(job_id, status="processing", attempts=3, lease_owner="runner-9-dead", lease_expires_at=utcnow())
    time.sleep(0.01)
    assert env.queue.handle(job_id) is None
    job = env.row(job_id)
    assert (job.status, job.attempts, job.error_code) == ("failed", 3, "JOB_CRASHED")
    assert job.error_details == {"attempts": 3} and env.echo.calls == 0
    assert env.finished == [(job_id, "failed")]  # finished once, in one transaction, like any job
    # Below the limit, an abandoned job is simply run again.
    other = env.job()
    env.set(other, status="processing", attempts=1, lease_owner="runner-9-dead", lease_expires_at=utcnow())
    time.sleep(0.01)
    assert env.queue.handle(other) is None and env.row(other).status == "completed"


def test_sweeper_resends_lost_jobs_only_when_the_queue_is_empty(env: Env) -> None:
    stale = env.job(created_at=utcnow() - timedelta(seconds=10))
    fresh = env.job()
    abandoned = env.job(created_at=utcnow() - timedelta(seconds=10))
    env.set(abandoned, status="processing", attempts=1, lease_owner="x", lease_expires_at=utcnow())
    done = env.job(created_at=utcnow() - timedelta(seconds=10))
    assert env.queue.handle(done) is None
    time.sleep(0.01)

    assert env.queue.sweep() == 2  # the stale pending job and the abandoned one; never fresh or finished
    assert sorted(env.messages()) == sorted([stale, abandoned])
    assert env.queue.sweep() == 0  # just re-sent: not again before requeue_after_s
    time.sleep(0.25)
    env.queue.enqueue(fresh)  # the queue holds a message: pending jobs are probably in it
    assert env.queue.sweep() == 1  # only the abandoned job, whose runner is gone for sure
    assert sorted(env.messages()) == sorted([fresh, abandoned])


def test_enqueue_never_raises_when_the_broker_is_down(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        queue="celery",
        broker_url="redis://127.0.0.1:1/0",  # nothing listens there
        celery=CelerySettings(connect_timeout_s=0.5),
    )
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    db = Database(url)
    runner = JobRunner(db, FilesystemBlobStore(tmp_path), OperationRegistry(), settings.jobs, retention_days=1)
    queue = CeleryQueue(runner, settings)
    started = time.monotonic()
    queue.enqueue("job_a")  # fails (logged); the job row stays pending for the sweeper
    queue.enqueue("job_b")  # skipped at once: the broker was just seen down
    assert time.monotonic() - started < 15
    assert queue.sweep() == 0  # nothing can be sent while the broker does not answer
    db.dispose()


def test_run_next_takes_each_due_job_once(env: Env) -> None:
    ids = [env.job() for _ in range(5)]
    ran = 0
    while env.runner.run_next():
        ran += 1
        assert ran <= 5
    assert ran == 5 and {env.row(i).status for i in ids} == {"completed"}
    with env.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.status != "completed")) == 0


def test_outbox_polling_backs_off_while_idle_and_returns_at_once_when_busy() -> None:
    base, intervals, current = 0.2, [], 0.2
    for _ in range(6):
        current = next_poll_interval(current, base, busy=False)
        intervals.append(current)
    assert intervals == [0.4, 0.8, IDLE_POLL_S, IDLE_POLL_S, IDLE_POLL_S, IDLE_POLL_S]
    assert next_poll_interval(IDLE_POLL_S, base, busy=True) == base
    assert next_poll_interval(5.0, 5.0, busy=False) == 5.0  # never faster than configured


def test_background_turn_reports_work_and_survives_a_failing_chore(env: Env) -> None:
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("the database is down")

    env.queue.background_tasks = [broken, lambda: calls.append("idle") or 0]
    assert env.queue._run_background_tasks() is False and calls == ["broken", "idle"]
    env.queue.background_tasks = [lambda: 2, broken]  # delivered two webhooks
    assert env.queue._run_background_tasks() is True


def test_the_task_hands_the_job_id_to_the_worker_and_a_send_only_app_refuses_to_run_it() -> None:
    settings = Settings(queue="celery", broker_url="memory://")
    delivered: list[str] = []

    def deliver(job_id: str) -> float | None:
        delivered.append(job_id)
        return None  # done: no retry

    create_celery_app(settings, deliver=deliver).tasks[TASK_NAME]("job_a")
    assert delivered == ["job_a"]
    with pytest.raises(RuntimeError, match="pressroom worker"):
        create_celery_app(settings).tasks[TASK_NAME]("job_b")  # the API's app only sends
