"""A Pressroom cluster on loopback for the scale-out tests: API nodes and workers as real processes.

PostgreSQL (a fresh database), moto's S3 server, and Redis or RabbitMQ as the broker. Every process gets
the same environment as the docker-compose services (see docker-compose.yml), plus short leases and
sweep intervals so that failures are recovered within a test's time budget.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import (
    CHROMIUM,
    S3_ENV,
    MotoServer,
    ServerProcess,
    WebhookReceiver,
    WorkerProcess,
    fresh_postgres_database,
    have_chromium,
    postgres_url,
    require_service,
)

requires_chromium = pytest.mark.skipif(not have_chromium(), reason=f"Chromium is not installed ({CHROMIUM})")


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    database_url: str
    receiver: WebhookReceiver
    apis: list[ServerProcess] = field(default_factory=list)
    workers: list[WorkerProcess] = field(default_factory=list)

    # -- processes ------------------------------------------------------------------------------------
    def add_api(self, *, worker: bool = False, **extra: str) -> ServerProcess:
        args = [] if worker else ["--no-worker"]
        api = ServerProcess(data_dir=self.root / f"api{len(self.apis)}", env_extra={**self.env, **extra})
        api.serve_args = args
        api.start()
        self.apis.append(api)
        return api

    def add_worker(self, *, concurrency: int = 1, python_entry: list[str] | None = None, **extra: str) -> WorkerProcess:
        public = {"PRESSROOM_PUBLIC_URL": self.apis[0].url} if self.apis else {}
        worker = WorkerProcess(
            data_dir=self.root / f"worker{len(self.workers)}",
            env_extra={**self.env, **public, **extra},
            args=["--concurrency", str(concurrency)],
            python_entry=python_entry,
        )
        worker.start(timeout_s=90)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for api in self.apis:
            api.stop()

    def logs(self) -> str:
        parts = [f"--- api {a.port}\n{a.log()[-3000:]}" for a in self.apis]
        parts += [f"--- worker {w.name}\n{w.log()[-3000:]}" for w in self.workers]
        return "\n".join(parts)

    # -- accounts and requests ------------------------------------------------------------------------
    def account_key(self, name: str) -> str:
        """An account on a generous plan and a live key, made in-process (a CLI run costs seconds)."""
        from pressroom.accounts.service import AccountService
        from pressroom.db.session import Database
        from pressroom.keys.service import ApiKeyService

        db = Database(self.database_url)
        try:
            account, _ = AccountService(db).get_or_create(name, plan="enterprise")
            return ApiKeyService(db).create(account.id, "live", "scale-out test").secret
        finally:
            db.dispose()

    def client(self, key: str, api: int = 0) -> httpx.Client:
        return httpx.Client(base_url=self.apis[api].url, headers={"Authorization": f"Bearer {key}"}, timeout=60)

    # -- the database, read directly: the source of truth the assertions are about ----------------------
    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url.replace("+psycopg", ""), connect_timeout=5) as conn:
            return list(conn.execute(query, params).fetchall())

    def statuses(self, job_ids: list[str]) -> dict[str, str]:
        rows = self.sql("SELECT id, status FROM jobs WHERE id = ANY(%s)", job_ids)
        return {job_id: status for job_id, status in rows}

    def wait_ended(self, job_ids: list[str], timeout_s: float) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        statuses: dict[str, str] = {}
        while time.monotonic() < deadline:
            statuses = self.statuses(job_ids)
            if len(statuses) == len(job_ids) and all(s in ("completed", "failed") for s in statuses.values()):
                return statuses
            time.sleep(0.3)
        pending = {k: v for k, v in statuses.items() if v not in ("completed", "failed")}
        raise AssertionError(
            f"{len(pending)} jobs unfinished after {timeout_s}s: {list(pending.items())[:5]}\n{self.logs()}"
        )

    def assert_exactly_once(self, job_ids: list[str], *, webhooks: bool = True, settle_s: float = 1.5) -> None:
        """One completed status, one document, one outbox row and one webhook id per job."""
        statuses = self.statuses(job_ids)
        assert set(statuses.values()) == {"completed"}, {k: v for k, v in statuses.items() if v != "completed"}
        documents = dict(
            self.sql("SELECT job_id, COUNT(*) FROM documents WHERE job_id = ANY(%s) GROUP BY job_id", job_ids)
        )
        assert documents == dict.fromkeys(job_ids, 1)
        linked = dict(self.sql("SELECT id, document_id FROM jobs WHERE id = ANY(%s)", job_ids))
        assert all(linked[j] is not None for j in job_ids)
        # Charged exactly once: one reservation, settled once, never released (even when delivered twice).
        ledger = self.sql(
            "SELECT job_id, kind, COUNT(*) FROM credit_entries WHERE job_id = ANY(%s) GROUP BY job_id, kind", job_ids
        )
        expected = {(job_id, kind): 1 for job_id in job_ids for kind in ("reserve", "settle")}
        assert {(job_id, kind): count for job_id, kind, count in ledger} == expected
        if not webhooks:
            return
        outbox = dict(
            self.sql("SELECT job_id, COUNT(*) FROM webhook_deliveries WHERE job_id = ANY(%s) GROUP BY job_id", job_ids)
        )
        assert outbox == dict.fromkeys(job_ids, 1)
        wanted = set(job_ids)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not wanted <= self._hooked_jobs():
            time.sleep(0.2)
        time.sleep(settle_s)  # a duplicate delivery would arrive now
        ids_per_job: dict[str, set[str]] = {}
        # A request without a body is a delivery cut off by its sender's death (a worker killed mid-send, as
        # the chaos tests do): the sender saw no answer and delivers it again, under the same webhook-id.
        for received in [r for r in self.receiver.received if r.body]:
            body = received.json()
            if body.get("job_id") in wanted:
                assert body["status"] == "completed"
                ids_per_job.setdefault(body["job_id"], set()).add(received.headers["webhook-id"])
        assert {job: len(ids) for job, ids in ids_per_job.items()} == dict.fromkeys(job_ids, 1)

    def _hooked_jobs(self) -> set[str]:
        return {r.json().get("job_id") for r in list(self.receiver.received) if r.body}

    def terminate_connections(self) -> int:
        """pg_terminate_backend every connection to the cluster's database (what a failover does)."""
        name = self.database_url.rsplit("/", 1)[1]
        rows = self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            name,
        )
        return len(rows)


def base_env(tmp: Path, moto: MotoServer, receiver: WebhookReceiver) -> tuple[dict[str, str], str]:
    base = postgres_url()
    require_service(base is not None, "PostgreSQL is not reachable on 127.0.0.1:5432 (set PRESSROOM_TEST_POSTGRES)")
    assert base is not None
    database_url = fresh_postgres_database(base)
    env = {
        **S3_ENV,
        "PRESSROOM_DATABASE_URL": database_url,
        "PRESSROOM_STORAGE_URL": moto.storage_url(f"scale-{uuid.uuid4().hex[:8]}"),
        "PRESSROOM_STORAGE__CREATE_BUCKET": "true",
        "PRESSROOM_SECRET_KEY": "scaleout-" + "s" * 40,
        "PRESSROOM_NET__ALLOW_PRIVATE": json.dumps([f"127.0.0.1:{receiver.port}"]),
        "PRESSROOM_WEBHOOKS__BACKOFF_BASE_S": "1.0",
        "PRESSROOM_JOBS__LEASE_S": "3",
        "PRESSROOM_CELERY__QUEUE_NAME": f"scale-{uuid.uuid4().hex[:8]}",
        "PRESSROOM_CELERY__VISIBILITY_TIMEOUT_S": "30",
        "PRESSROOM_CELERY__SWEEP_INTERVAL_S": "1",
        "PRESSROOM_CELERY__REQUEUE_AFTER_S": "4",
        "PRESSROOM_CELERY__CONNECT_TIMEOUT_S": "1",
        # One PDF sandbox process per node: pool processes restarted after a crash warm up faster.
        "PRESSROOM_PDF__WORKERS": "1",
    }
    return env, database_url


@contextmanager
def cluster(tmp: Path, moto: MotoServer, broker_url: str | None, **extra: str) -> Iterator[Cluster]:
    with WebhookReceiver() as receiver:
        env, database_url = base_env(tmp, moto, receiver)
        if broker_url:
            env.update({"PRESSROOM_QUEUE": "celery", "PRESSROOM_BROKER_URL": broker_url})
        env.update(extra)
        running = Cluster(tmp, env, database_url, receiver)
        try:
            yield running
        finally:
            running.stop()


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def owner_pid(lease_owner: str) -> int:
    """The pid inside a runner's lease owner ("runner-<pid>-<random>")."""
    return int(lease_owner.split("-")[1])


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    try:
        yield server
    finally:
        server.stop()
