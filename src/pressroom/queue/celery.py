"""The Celery queue: job ids travel over Redis or RabbitMQ to ``pressroom worker`` processes.

The broker carries only job ids; the jobs table stays the source of truth and the same job handler
(:class:`~pressroom.queue.base.JobHandler`: the job runner) as the embedded worker runs every job (lease,
heartbeat, idempotent finish). Celery adds delivery, and is configured so that a message is never dropped while
its job is unfinished:

- ``acks_late``: a message is acknowledged after the task ran, not when a worker took it;
- ``task_reject_on_worker_lost``: a worker process that dies mid-task (SIGKILL, OOM, a poison input)
  gives its message back to the broker instead of acknowledging it;
- prefetch 1: an idle worker never sits on messages another worker could run.

Two things the broker cannot know are handled here. A re-delivered job whose dead runner still holds the
lease is retried (a new message with a countdown) until the lease runs out and it can be claimed; and a
*sweeper*, run by every process running jobs, re-enqueues jobs whose message was lost (a broker
restarted without persistence, an enqueue that failed while the broker was down) or whose runner died.
Duplicated messages are harmless: the claim is conditional, so a job runs once.

The worker process itself (``pressroom worker``: the Celery signal hooks, one container per pool process)
is a door, :mod:`pressroom.worker`; it gives :func:`create_celery_app` the function delivered jobs go to.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery, Task  # type: ignore[import-untyped]

from pressroom.config import Settings
from pressroom.core.clock import utcnow
from pressroom.queue.base import JobHandler, next_poll_interval

log = logging.getLogger("pressroom.queue")

TASK_NAME = "pressroom.run_job"
# A job is retried (new message, countdown) at most this many times while another runner holds it; the
# sweeper re-enqueues it anyway if all of those are spent.
MAX_REDELIVERIES = 1000
SWEEP_LIMIT = 500

# What a worker process does with a delivered job id: a countdown when the message must come back later.
Deliver = Callable[[str], float | None]


def create_celery_app(settings: Settings, deliver: Deliver | None = None) -> Celery:
    """The Celery app: sends job ids, and (given ``deliver``, in a worker process) runs the task."""
    if not settings.broker_url:
        raise ValueError("PRESSROOM_QUEUE=celery needs PRESSROOM_BROKER_URL (redis://... or amqp://...)")
    cfg = settings.celery
    app = Celery("pressroom", broker=settings.broker_url, set_as_current=False)
    transport_options: dict[str, Any] = {}
    if settings.broker_url.startswith(("redis", "rediss")):
        transport_options = {
            "visibility_timeout": cfg.visibility_timeout_s,
            # Look for messages of dead workers often enough to honour a short visibility timeout.
            "unacked_restore_interval": min(10, cfg.visibility_timeout_s),
            "socket_connect_timeout": cfg.connect_timeout_s,
            "socket_timeout": 30,
            "retry_on_timeout": True,
        }
    elif settings.broker_url.startswith(("amqp", "pyamqp")):
        # Publisher confirms: send_task returns once RabbitMQ has the message, not before.
        transport_options = {"confirm_publish": True}
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task that raised is done with (acked): the job row already records the failure or the retry.
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=cfg.queue_name,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options=transport_options,
        broker_connection_timeout=cfg.connect_timeout_s,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for its broker forever; it never gives up
        broker_heartbeat=10,
        # A running task is not cancelled when the broker connection drops: its job finishes in the
        # database either way and the re-delivered message finds it completed.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        # No broadcast/pidbox traffic: several Pressroom deployments (or test runs) may share a broker.
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        # A pool process warms its engines (Chromium, PDF sandboxes) before reporting up; Celery's 4 s
        # default would kill it mid-warm-up, forever.
        worker_proc_alive_timeout=120,
    )

    def run_job(task: Task, job_id: str) -> None:
        if deliver is None:  # an app built to send only: this process should not consume
            raise RuntimeError("this process only sends jobs; `pressroom worker` runs them")
        countdown = deliver(job_id)
        if countdown is not None:
            raise task.retry(countdown=countdown)

    app.task(
        name=TASK_NAME,
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        ignore_result=True,
        max_retries=MAX_REDELIVERIES,
        shared=False,  # this app's own body: Celery would otherwise add it to every app built after it
    )(run_job)
    return app


class CeleryQueue:
    """Enqueue side (API nodes) and run side (workers) of the Celery queue."""

    name = "celery"

    def __init__(
        self,
        runner: JobHandler,
        settings: Settings,
        background_tasks: list[Callable[[], object]] | None = None,
    ) -> None:
        self.runner = runner
        self.settings = settings
        self.app = create_celery_app(settings)
        # Periodic chores of a process running jobs (webhook delivery), besides the sweep.
        self.background_tasks = background_tasks or []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._broker_down_until = 0.0
        self._requeued: dict[str, float] = {}
        self.consuming = False

    # -- enqueue side ---------------------------------------------------------------------------------
    def enqueue(self, job_id: str) -> None:
        """Send the job id; never raise: the committed job row is what counts, the sweeper resends it."""
        self._send(job_id)

    def _send(self, job_id: str) -> bool:
        if time.monotonic() < self._broker_down_until:
            log.warning("broker unavailable; job %s left for the sweeper", job_id)
            return False
        try:
            self.app.send_task(
                TASK_NAME,
                args=[job_id],
                queue=self.settings.celery.queue_name,
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
            )
        except Exception as exc:
            # Do not make every request of a burst wait for the connect timeout while the broker is down.
            self._broker_down_until = time.monotonic() + 2.0
            log.warning("could not enqueue job %s (%s); the sweeper will resend it", job_id, exc)
            return False
        return True

    # -- run side -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the heartbeat and the maintenance thread (webhooks, sweep). Consuming is Celery's job."""
        if self.consuming:
            return
        self.consuming = True
        self.runner.start_heartbeat()
        self._thread = threading.Thread(target=self._maintain, name="celery-maintenance", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.runner.stop()
        self.consuming = False

    def handle(self, job_id: str) -> float | None:
        """Run a delivered job; return a countdown when the message must come back later, else None."""
        ran = self.runner.run(job_id)
        state = self.runner.lifecycle(job_id)
        if state is None or (ran and state[0] != "pending"):
            return None  # unknown job, or run here (finished, or taken over after our lease was lost)
        status, until = state
        now = utcnow()
        if status == "pending":
            # Rescheduled with backoff (engine error, QUEUE_FULL): come back when it is due.
            return max(0.0, (until - now).total_seconds()) if until is not None else 1.0
        if status == "processing":
            # Another runner holds it, perhaps a dead one (re-delivered after a crash): come back when
            # its lease would have run out; a live holder keeps renewing it and finishes the job.
            remaining = (until - now).total_seconds() if until is not None else self.settings.jobs.lease_s
            return max(0.0, remaining) + 0.5
        return None  # completed, failed or canceled

    def _maintain(self) -> None:
        # Every pool process runs this loop and each turn queries the webhook outbox: see next_poll_interval.
        base = self.settings.jobs.poll_interval_s
        interval = base
        next_sweep = time.monotonic() + self.settings.celery.sweep_interval_s
        while not self._stop.wait(interval):
            busy = self._run_background_tasks()
            interval = next_poll_interval(interval, base, busy)
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.settings.celery.sweep_interval_s
                try:
                    self.sweep()
                except Exception:
                    log.exception("celery sweep failed")

    def _run_background_tasks(self) -> bool:
        """Run the chores once; True when one of them reported work done (webhooks delivered)."""
        busy = False
        for task in self.background_tasks:
            try:
                done = task()
            except Exception:  # the database or a webhook target may be down for a while
                log.exception("celery maintenance task failed")
                continue
            busy = busy or (isinstance(done, int) and done > 0)
        return busy

    def sweep(self) -> int:
        """Re-enqueue jobs no message carries any more; returns how many were sent."""
        empty = self._broker_queue_empty()
        if empty is None:
            return 0  # broker unreachable: nothing can be sent now anyway
        now = utcnow()
        requeue_after = self.settings.celery.requeue_after_s
        stale_before = now - timedelta(seconds=requeue_after)
        # A pending job may only be missing from the broker when its queue is empty; with messages still
        # waiting, it is (in all likelihood) one of them: resending would only duplicate the backlog.
        candidates = self.runner.orphaned_ids(now, stale_before, SWEEP_LIMIT, include_pending=empty)
        clock = time.monotonic()
        self._requeued = {k: t for k, t in self._requeued.items() if clock - t < requeue_after}
        sent = 0
        for job_id in candidates:
            if job_id in self._requeued:
                continue
            if not self._send(job_id):
                break  # the broker went away again: the next sweep starts over
            self._requeued[job_id] = clock
            sent += 1
        if sent:
            log.warning("sweeper re-enqueued %d job(s) no message was carrying", sent)
        return sent

    def _broker_queue_empty(self) -> bool | None:
        """Whether the job queue holds no ready message (None: the broker does not answer)."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=1, timeout=self.settings.celery.connect_timeout_s)
                channel = connection.channel()
                try:
                    _, messages, _ = channel.queue_declare(queue=self.settings.celery.queue_name, passive=True)
                except Exception as exc:
                    if "NOT_FOUND" in str(exc) or "404" in str(exc) or "no queue" in str(exc).lower():
                        return True  # never declared (or deleted with the broker's data): nothing in it
                    raise
                finally:
                    _close_quietly(channel)
                return int(messages) == 0
        except Exception as exc:
            log.warning("broker unavailable for the sweep: %s", exc)
            return None


def _close_quietly(channel: Any) -> None:
    try:
        channel.close()
    except Exception:  # the channel may already be closed by a passive-declare failure
        log.debug("channel close failed", exc_info=True)


# -- worker process side (used by pressroom.worker) ------------------------------------------------------
def watch_redis(app: Celery, consumer: Any, interval_s: float = 1.0) -> None:
    """Reconnect the consumer when Redis restarted under it (a kombu gap no setting closes, as of 5.7).

    When Redis is down while every prefetch slot is busy, no BRPOP is in flight, so the event loop never
    sees the connection die; the late ack that follows fails, and kombu's Redis ``QoS.ack`` raises before
    it releases the prefetch slot (logged as "Couldn't ack", swallowed). With prefetch 1 the consumer can
    then never take another message: it idles forever. Checked against kombu 5.7.0: the BRPOP health
    check (``health_check_interval``) only watches a BRPOP in flight, ``socket_timeout``/keepalive only
    a socket being read, ``worker_cancel_long_running_tasks_on_connection_loss`` only acts once a loss was
    noticed - none of them frees the slot (tests/integration/scaleout/test_chaos.py's
    ``test_redis_down_until_a_busy_worker_finishes_consumer_recovers`` hangs without this watch).
    Redis changes its ``run_id`` on every restart: when it does, an error is raised *inside* the event
    loop, which is Celery's own path to reconnect: a new channel (a fresh QoS) and the queue bindings
    declared again (a restart without persistence lost them). RabbitMQ needs none of this: AMQP
    heartbeats notice the dead connection and the broker, not the client, tracks unacked messages.
    """
    seen: str | None = None
    while True:
        time.sleep(interval_s)
        try:
            with app.connection_for_read() as connection:
                connection.ensure_connection(max_retries=1, timeout=2)
                run_id = str(connection.default_channel.client.info("server")["run_id"])
        except Exception:  # down: nothing to do until it is back
            continue
        if seen is not None and run_id != seen:
            hub = getattr(consumer, "hub", None)
            if hub is None:  # no event loop to reconnect from (a synchronous pool): nothing we can do
                log.warning("the Redis broker restarted; this pool cannot be told to reconnect")
            else:
                log.warning("the Redis broker restarted; reconnecting the consumer")
                hub.call_soon(_broker_restarted, consumer.connection_errors)
        seen = run_id


def _broker_restarted(errors: tuple[type[Exception], ...]) -> None:
    error = next((e for e in errors if issubclass(e, Exception)), ConnectionError)
    raise error("the broker restarted")
