"""Multi-tenant stall test (issue #12): while tenant A floods the server, tenant B's cheap call stays fast.

Tenant A floods with (a) duplicates of an Idempotency-Key whose first request is still running, sent
from more client threads than the server has worker threads, each re-sending 5 times faster than the
409's Retry-After asks, and (b) a burst of slow sync renders larger than the worker-thread pool.
Meanwhile tenant B calls ``GET /v1/credits`` 20 times a second on a fixed schedule, from a process of its
own (see ``_sample_b``); the p95 of B's calls scheduled *during* A's flood must stay under
``B_P95_BOUND_S``.

Why 2 s: an unloaded ``GET /v1/credits`` answers in a few ms; during A's floods, on a 2-core machine busy
with other test runs (load 8-10), B's p95 measured 0.1-0.5 s. What this guards against is not a slower
answer but a *stall*: B's request queued behind A's for a worker thread until one of A's requests let go
of it - before the fix, 45 duplicates made B wait 147 s (here each duplicate would hold a thread for the
holder's 6 s), and before sync renders stopped holding pool threads, this burst gave B a p95 of 4.5-6.2 s.
2 s is loose enough not to flap on a loaded machine and well below either stall.

Why the duplicates are paced (every ``DUPLICATE_PAUSE_S``) rather than sent back to back: a 409 costs the
server about what B's call costs (a few ms of CPU: authenticate, one indexed read). Dozens of connections
sending in a tight loop saturate a 2-core machine's CPU whatever the answer is - a 409, a 429 of the rate
limiter or a replay - which is a load test of the CPU, not of this fix; a front proxy's connection limits
are the answer to that, not the application. Paced, the flood is still 48 requests in flight at every
moment of the holder's run, more than the 40 threads every one of them used to hold.

A last test kills the server (SIGKILL) while a keyed request runs: after the restart the key is refused
only until its lease (``jobs.lease_s``, which nobody renews any more) has passed, then the retry runs.

The server pins the Chromium engine's admission (slots + queue = 48) above anyio's default of 40 worker
threads: the case of a machine with many cores (slots = 2 x cores), reproduced on any machine.
"""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.support import CHROMIUM, ServerProcess, have_chromium

pytestmark = [
    pytest.mark.slow,  # about a minute; in `make test`, not in `make test-fast`
    pytest.mark.skipif(not have_chromium(), reason=f"Chromium is not installed ({CHROMIUM})"),
]

B_P95_BOUND_S = 2.0  # see the module docstring
B_INTERVAL_S = 0.05  # B calls 20 times a second, on a schedule (see _while_b_polls)
B_CONNECTIONS = 64  # enough for B's calls held up by 3 s of stall to still start on time
SLOTS, QUEUE = 8, 40  # the engine admits 48 sync renders, more than the default pool's 40 threads
SLOW_RENDERS = 56  # the burst also overflows the engine's queue: those few get 429 QUEUE_FULL at once
SLOW_RENDER_MS = 1500  # renders that wait in the page: slow for their caller, cheap for the machine
DUPLICATE_SENDERS = 48  # more than the pool's threads: each used to hold one for up to 150 s
HOLDER_MS = 6000  # how long the first request holds the key while its duplicates flood in
DUPLICATE_PAUSE_S = 0.2  # each sender re-sends 5x faster than the 409's Retry-After (1 s) asks

_T = TypeVar("_T")


@dataclass
class Tenants:
    server: ServerProcess
    a: httpx.Client
    b_key: str


def _client(url: str, key: str, connections: int) -> httpx.Client:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120, limits=limits)


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    env = {"PRESSROOM_RENDER__CONCURRENCY": str(SLOTS), "PRESSROOM_RENDER__QUEUE_SIZE": str(QUEUE)}
    server = ServerProcess(data_dir=Path(tmp_path_factory.mktemp("stall")), env_extra=env)
    server.start()
    try:
        for name in ("flooder", "bystander"):
            server.cli("accounts", "create", name, "--plan", "enterprise")
        with _client(server.url, server.create_key("flooder"), SLOW_RENDERS + DUPLICATE_SENDERS + 4) as a:
            yield Tenants(server, a, server.create_key("bystander"))
    finally:
        server.stop()


def _sample_b(url: str, key: str, ready: Event, stop: Event, out: Queue) -> None:  # type: ignore[type-arg]
    """Tenant B, in a process of its own: ``GET /v1/credits`` every ``B_INTERVAL_S`` until told to stop.

    Open loop: B's calls start on a fixed schedule whether or not the earlier ones have answered, and each
    latency is measured from the call's scheduled start. A closed loop (call, wait, call again) takes one
    sample per stall however long it lasts and fills the rest with fast samples taken while the server is
    free, so its p95 hides exactly what this test is about ("coordinated omission"). A process of its own,
    so that tenant A's client threads (dozens, sending back to back) cannot delay B's calls on this side of
    the socket by holding the test process's GIL: what is measured is the server.
    """
    samples: list[tuple[float, float, int]] = []  # (scheduled start, seconds, status), time.monotonic()
    lock = threading.Lock()
    with _client(url, key, B_CONNECTIONS) as b:
        assert b.get("/v1/credits").status_code == 200  # warm: the bound is about load, not first use

        def call(scheduled: float) -> None:
            try:
                status = b.get("/v1/credits").status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                samples.append((scheduled, time.monotonic() - scheduled, status))

        with ThreadPoolExecutor(max_workers=B_CONNECTIONS) as callers:
            ready.set()
            next_at = time.monotonic()
            while not stop.is_set():
                callers.submit(call, next_at)
                next_at += B_INTERVAL_S
                time.sleep(max(0.0, next_at - time.monotonic()))
        # Leaving `with` waited for every call: the ones a stall held up are counted too.
    out.put(samples)


def _while_b_polls(tenants: Tenants, flood: Callable[[], _T]) -> tuple[_T, list[float]]:
    """Run tenant A's flood while B calls on its schedule; B's latencies of the calls scheduled during it."""
    ctx = multiprocessing.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    sampler = ctx.Process(target=_sample_b, args=(tenants.server.url, tenants.b_key, ready, stop, out))
    sampler.start()
    try:
        assert ready.wait(60), "tenant B's sampler did not start"
        began = time.monotonic()
        try:
            result = flood()
        finally:
            ended = time.monotonic()
            stop.set()
        samples: list[tuple[float, float, int]] = out.get(timeout=180)
    finally:
        sampler.join(30)
        if sampler.is_alive():
            sampler.kill()
    during = [(seconds, status) for scheduled, seconds, status in samples if began <= scheduled <= ended]
    assert {status for _, status in during} == {200}, during
    latencies = [seconds for seconds, _ in during]
    assert len(latencies) >= 20, f"too few calls of B during the flood ({len(latencies)}) to take a p95"
    return result, latencies


def _p95(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=20)[-1]


def _wait_until_held(server: ServerProcess, key: str) -> None:
    """Until the first request owns the key (read from the database: a probe request could win the race)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        db = sqlite3.connect(server.data_dir / "pressroom.db")
        try:
            row = db.execute("SELECT status FROM idempotency_records WHERE key = ?", (key,)).fetchone()
        finally:
            db.close()
        if row == ("in_progress",):
            return
        time.sleep(0.05)
    raise AssertionError(f"the first request never took the key {key!r}")


def test_duplicates_of_an_in_progress_key_do_not_stall_another_tenant(tenants: Tenants) -> None:
    a, key = tenants.a, "flood-duplicates"
    body = {"html": "<p>keyed</p>", "options": {"wait_for": {"delay_ms": HOLDER_MS}}}
    headers = {"Idempotency-Key": key}

    def flood() -> tuple[httpx.Response, list[httpx.Response]]:
        with ThreadPoolExecutor(max_workers=DUPLICATE_SENDERS + 1) as pool:
            holder = pool.submit(a.post, "/v1/documents/transform", json=body, headers=headers)
            _wait_until_held(tenants.server, key)

            def send_until_done() -> list[httpx.Response]:
                # A careless client: ignores Retry-After and re-sends 5x faster, as long as the first runs.
                answers = []
                while not holder.done():
                    answers.append(a.post("/v1/documents/transform", json=body, headers=headers))
                    time.sleep(DUPLICATE_PAUSE_S)
                return answers

            senders = [pool.submit(send_until_done) for _ in range(DUPLICATE_SENDERS)]
            return holder.result(), [answer for sender in senders for answer in sender.result()]

    (first, duplicates), latencies = _while_b_polls(tenants, flood)

    assert first.status_code == 201, first.text
    refused = [r for r in duplicates if r.status_code == 409]
    # Every duplicate was answered at once: enough of them to have needed every thread many times over.
    assert len(refused) >= 2 * DUPLICATE_SENDERS, len(refused)
    for answer in refused:
        assert answer.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
        assert answer.headers["retry-after"] == "1"
    # The rest arrived as the first finished: its replay, never a second document.
    others = [r for r in duplicates if r.status_code != 409]
    assert all(r.status_code == 201 and r.json()["id"] == first.json()["id"] for r in others)
    replay = a.post("/v1/documents/transform", json=body, headers=headers)
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]
    assert replay.headers["idempotent-replayed"] == "true"
    p95 = _p95(latencies)
    print(f"duplicates: {len(duplicates)} sent; B {len(latencies)} calls, p95 {p95:.3f} s, max {max(latencies):.3f} s")
    assert p95 < B_P95_BOUND_S, f"tenant B's p95 was {p95:.2f} s while tenant A flooded duplicates"


@pytest.fixture(scope="module")
def render_burst(tenants: Tenants) -> tuple[list[httpx.Response], list[float]]:
    """Tenant A's burst of slow sync renders, all at once, and B's latencies meanwhile (run once)."""
    a = tenants.a
    body = {"html": "<p>slow</p>", "options": {"wait_for": {"delay_ms": SLOW_RENDER_MS}}}
    fire = threading.Barrier(SLOW_RENDERS)

    def render() -> httpx.Response:
        fire.wait()  # the whole burst lands at once
        return a.post("/v1/documents/transform", json=body)

    def flood() -> list[httpx.Response]:
        with ThreadPoolExecutor(max_workers=SLOW_RENDERS) as pool:
            return list(pool.map(lambda _: render(), range(SLOW_RENDERS)))

    answers, latencies = _while_b_polls(tenants, flood)
    codes = [r.status_code for r in answers]
    print(
        f"slow renders: {codes.count(201)} x 201, {codes.count(429)} x 429; "
        f"B {len(latencies)} calls, p95 {_p95(latencies):.3f} s, max {max(latencies):.3f} s"
    )
    return answers, latencies


def test_a_burst_of_slow_renders_is_served_or_refused_cleanly(
    render_burst: tuple[list[httpx.Response], list[float]],
) -> None:
    answers, _ = render_burst
    codes = [r.status_code for r in answers]
    # Served, or refused at once by the engine's back-pressure (429 QUEUE_FULL); never a 5xx.
    assert set(codes) <= {201, 429}, [r.text for r in answers if r.status_code not in (201, 429)]
    assert all(r.json()["error"]["code"] == "QUEUE_FULL" for r in answers if r.status_code == 429)
    assert codes.count(201) >= SLOTS


def test_a_burst_of_slow_renders_does_not_stall_another_tenant(
    render_burst: tuple[list[httpx.Response], list[float]],
) -> None:
    _, latencies = render_burst
    p95 = _p95(latencies)
    assert p95 < B_P95_BOUND_S, f"tenant B's p95 was {p95:.2f} s during tenant A's burst of slow renders"


CRASH_LEASE_S = 20.0  # jobs.lease_s of the crash test's server (the in-progress key's lease too): > a restart


def test_a_key_held_by_a_crashed_request_is_free_after_the_lease(tmp_path: Path) -> None:
    """kill -9 while a keyed request runs: after a restart the key is refused (409) only until its lease,
    renewed by nobody now, has passed - then the client's retry runs. Before, it stayed taken for 24 h."""
    env = {"PRESSROOM_JOBS__LEASE_S": str(CRASH_LEASE_S)}
    first = ServerProcess(data_dir=tmp_path, env_extra=env)
    first.start()
    try:
        first.cli("accounts", "create", "crasher", "--plan", "enterprise")
        secret = first.create_key("crasher")
        key = "crashed-order"
        body = {"html": "<p>crash</p>", "options": {"wait_for": {"delay_ms": 3000}}}
        with ThreadPoolExecutor(max_workers=1) as pool, _client(first.url, secret, 2) as client:
            pending = pool.submit(client.post, "/v1/documents/transform", json=body, headers={"Idempotency-Key": key})
            _wait_until_held(first, key)
            first.stop(signal.SIGKILL)
            killed_at = time.monotonic()
            with pytest.raises(httpx.TransportError):
                pending.result()
    finally:
        first.stop()

    second = ServerProcess(data_dir=tmp_path, env_extra=env)
    second.start()
    restarted_after = time.monotonic() - killed_at
    try:
        with _client(second.url, secret, 2) as client:
            refusals: list[httpx.Response] = []
            while True:
                sent_after = time.monotonic() - killed_at
                answer = client.post("/v1/documents/transform", json=body, headers={"Idempotency-Key": key})
                if answer.status_code != 409:
                    break
                refusals.append(answer)
                assert sent_after < CRASH_LEASE_S + 30, "the dead request's key was never freed"
                time.sleep(float(answer.headers["retry-after"]))
    finally:
        second.stop()

    print(
        f"crash: restarted after {restarted_after:.1f} s, key free to a retry sent {sent_after:.1f} s after the kill "
        f"(lease {CRASH_LEASE_S} s), {len(refusals)} x 409 before"
    )
    assert answer.status_code == 201, answer.text  # the retry ran: a document, not a stale refusal
    assert "idempotent-replayed" not in answer.headers
    assert all(r.json()["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS" for r in refusals)
    if restarted_after < CRASH_LEASE_S - 2:
        # Back before the lease ran out: the key was still held, so it is the lease that freed it.
        assert refusals, "the crashed request's key was free before its lease ran out"
    # Freed once the lease ran out (plus a retry interval and slack for a loaded machine); 24 h before the fix.
    assert sent_after <= max(CRASH_LEASE_S, restarted_after) + 5, sent_after
