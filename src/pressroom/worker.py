"""The Celery worker door: ``pressroom worker`` with ``PRESSROOM_QUEUE=celery``.

The queue adapter (:mod:`pressroom.queue.celery`) knows how jobs travel; this module knows how a worker
process is put together: Celery's signal hooks, and one container per OS process - prefork children
build their own after the fork (engines, loop thread and database pool must never be shared across a
fork). It sits on top, beside the CLI and the API: it may import ``bootstrap``, the queue may not.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from typing import Any

from celery import signals  # type: ignore[import-untyped]

from pressroom.bootstrap import Container, build
from pressroom.config import Settings, get_settings
from pressroom.queue.celery import CeleryQueue, create_celery_app, watch_redis

READY_MARKER = "pressroom worker ready"

_runtime_lock = threading.Lock()
_runtime: tuple[int, Container] | None = None
_worker_settings: Settings | None = None


def _container() -> Container:
    global _runtime
    with _runtime_lock:
        if _runtime is None or _runtime[0] != os.getpid():
            _allow_child_processes()
            container = build(_worker_settings or get_settings())
            container.start(worker=True)
            _runtime = (os.getpid(), container)
        return _runtime[1]


def _allow_child_processes() -> None:
    """Let a prefork pool process start processes of its own (the PDF sandbox, its forkserver).

    Celery marks pool processes daemonic, and multiprocessing refuses to let a daemonic process have
    children. The flag only exists so that children are not orphaned at exit; ours are (sandbox workers
    exit when their pipe to us closes, Chromium when Playwright's does), so lifting it is safe.
    """
    process = multiprocessing.current_process()
    if process.daemon:
        process._config["daemon"] = False  # type: ignore[attr-defined]
        # Billiard's authkey type refuses to be pickled, which a forkserver start needs: use the stdlib's.
        authkey = multiprocessing.process.AuthenticationString(os.urandom(32))  # type: ignore[attr-defined]
        process._config["authkey"] = authkey  # type: ignore[attr-defined]


def _close_container() -> None:
    global _runtime
    with _runtime_lock:
        if _runtime is not None and _runtime[0] == os.getpid():
            _runtime[1].close()
        _runtime = None


def _deliver(job_id: str) -> float | None:
    """The Celery task's body in this process: run the delivered job (see ``CeleryQueue.handle``)."""
    queue = _container().queue
    if not isinstance(queue, CeleryQueue):  # settings say embedded: this process should not consume
        raise RuntimeError("a Celery worker needs PRESSROOM_QUEUE=celery")
    return queue.handle(job_id)


def run_worker(settings: Settings, *, concurrency: int, pool: str, loglevel: str, hostname: str | None) -> None:
    """``pressroom worker``: consume the configured queue until stopped (SIGTERM: warm shutdown)."""
    global _worker_settings
    _worker_settings = settings
    app = create_celery_app(settings, deliver=_deliver)

    def warm_child(**_: Any) -> None:
        _container()

    def close_child(**_: Any) -> None:
        _close_container()

    def ready(sender: Any = None, **_: Any) -> None:
        if pool != "prefork":  # solo/threads run tasks in this process: warm its engines now
            _container()
        if settings.broker_url and settings.broker_url.startswith(("redis", "rediss")) and sender is not None:
            threading.Thread(target=watch_redis, args=(app, sender), name="broker-watch", daemon=True).start()
        print(f"{READY_MARKER} (pid {os.getpid()}, pool {pool}, concurrency {concurrency})", flush=True)

    def shutdown(**_: Any) -> None:
        if pool != "prefork":
            _close_container()

    signals.worker_process_init.connect(warm_child, weak=False)
    signals.worker_process_shutdown.connect(close_child, weak=False)
    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutdown.connect(shutdown, weak=False)
    argv = [
        "worker",
        f"--loglevel={loglevel.upper()}",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--queues={settings.celery.queue_name}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
