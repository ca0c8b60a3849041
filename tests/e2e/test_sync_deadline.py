"""Issue #12 item 5: a sync request's deadline covers its wait in the render queue and the render.

Before: the request thread waited ``timeout_s + 30`` s whatever the queue, so a burst of slow renders got
500s (28 of 45) and the renders of callers that had their answer ran afterwards; the queue never refused
anything (429) while latency grew. Now, on one render slot with a 3 s limit:

* a render that cannot finish in time answers 504 ``RENDER_TIMEOUT`` within the limit (plus slack), its
  credit is released and its page is stopped - the page's own beacon, sent later, never arrives;
* a burst answers 201, 429 ``QUEUE_FULL`` (with Retry-After) or 504, each within the limit plus slack,
  never a 5xx other than 504; the credits charged are exactly the 201s', no job is left running, and
  once the last answer is out no render of the burst sends anything any more.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import CHROMIUM, ServerProcess, WebhookReceiver, have_chromium

pytestmark = pytest.mark.skipif(not have_chromium(), reason=f"Chromium is not installed ({CHROMIUM})")

TIMEOUT_S = 3.0
SLACK_S = 2.0  # HTTP, admission, storage: a loaded 2-core machine answers far inside this
BURST = 12


@dataclass
class Deadline:
    server: ServerProcess
    beacon: WebhookReceiver
    api: httpx.Client

    def sql(self, query: str, *args: Any) -> list[Any]:
        db = sqlite3.connect(self.server.data_dir / "pressroom.db")
        try:
            return db.execute(query, args).fetchall()
        finally:
            db.close()

    def credits(self) -> int:
        return int(self.api.get("/v1/credits").json()["credits_left"])

    def beacons(self, tag: str) -> int:
        return sum(1 for hit in list(self.beacon.received) if hit.path.startswith(f"/{tag}"))


@pytest.fixture(scope="module")
def deadline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deadline]:
    with WebhookReceiver() as beacon:
        env = {
            "PRESSROOM_RENDER__CONCURRENCY": "1",
            "PRESSROOM_RENDER__QUEUE_SIZE": "8",
            "PRESSROOM_RENDER__TIMEOUT_S": str(TIMEOUT_S),
            "PRESSROOM_RENDER__DEFAULT_ENGINE": "chromium",
            "PRESSROOM_NET__RENDER_PUBLIC_HOSTS": json.dumps(["127.0.0.1"]),
            "PRESSROOM_NET__ALLOW_PRIVATE": json.dumps([f"127.0.0.1:{beacon.port}"]),
        }
        server = ServerProcess(data_dir=Path(tmp_path_factory.mktemp("deadline")), env_extra=env)
        server.start()
        try:
            server.cli("accounts", "create", "slowpoke", "--plan", "enterprise")
            key = server.create_key("slowpoke")
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as api:
                assert api.post("/v1/documents/transform", json={"html": "<p>warm</p>"}).status_code == 201
                yield Deadline(server, beacon, api)
        finally:
            server.stop()


def slow_page(beacon: WebhookReceiver, tag: str, page_ms: int, beacon_ms: int) -> dict[str, Any]:
    """A render that stays in the page ``page_ms`` and, ``beacon_ms`` after loading, tells the beacon."""
    script = f"setTimeout(() => fetch('{beacon.url}/{tag}'), {beacon_ms});"
    return {"html": f"<p>{tag}</p><script>{script}</script>", "options": {"wait_for": {"delay_ms": page_ms}}}


def test_a_render_past_the_deadline_is_a_clean_504_and_stops(deadline: Deadline) -> None:
    before = deadline.credits()
    started = time.monotonic()
    answer = deadline.api.post(
        "/v1/documents/transform", json=slow_page(deadline.beacon, "late", page_ms=8000, beacon_ms=5000)
    )
    took = time.monotonic() - started
    assert answer.status_code == 504, answer.text
    error = answer.json()["error"]
    assert error["code"] == "RENDER_TIMEOUT"
    assert took < TIMEOUT_S + SLACK_S
    assert deadline.credits() == before  # reserved, then released
    job_id = error["details"]["job_id"]
    assert deadline.sql("SELECT status, error_code FROM jobs WHERE id = ?", job_id) == [("failed", "RENDER_TIMEOUT")]
    kinds = sorted(deadline.sql("SELECT kind FROM credit_entries WHERE job_id = ?", job_id))
    assert kinds == [("release",), ("reserve",)]
    time.sleep(5.5 - took + 0.5)  # past the moment the page would have sent its beacon
    assert deadline.beacons("late") == 0  # the page was stopped with its answer, not left running


def test_a_burst_gets_429_or_504_in_time_and_leaves_nothing_running(deadline: Deadline) -> None:
    before = deadline.credits()
    body = slow_page(deadline.beacon, "burst", page_ms=1500, beacon_ms=1200)
    fire = threading.Barrier(BURST)

    def send() -> tuple[httpx.Response, float]:
        fire.wait()
        started = time.monotonic()
        answer = deadline.api.post("/v1/documents/transform", json=body)
        return answer, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        results = list(pool.map(lambda _: send(), range(BURST)))
    answered = time.monotonic()

    codes = [answer.status_code for answer, _ in results]
    assert set(codes) <= {201, 429, 504}, [answer.text for answer, _ in results]
    assert codes.count(201) >= 1 and codes.count(429) >= 1, codes  # served, and back-pressure engaged
    assert max(took for _, took in results) < TIMEOUT_S + SLACK_S, [round(took, 2) for _, took in results]
    for answer, _ in results:
        if answer.status_code == 429:
            assert answer.json()["error"]["code"] == "QUEUE_FULL"
            assert int(answer.headers["retry-after"]) >= 1
        elif answer.status_code == 504:
            assert answer.json()["error"]["code"] == "RENDER_TIMEOUT"
    # Only what was delivered was charged; every job of the burst is over.
    assert deadline.credits() == before - codes.count(201)
    assert deadline.sql("SELECT count(*) FROM jobs WHERE status IN ('pending', 'processing')") == [(0,)]
    # No render of the burst goes on after the answers: the beacon count stops moving.
    settled = deadline.beacons("burst")
    time.sleep(max(0.0, answered + 3.0 - time.monotonic()))
    assert deadline.beacons("burst") == settled
    assert settled <= codes.count(201) + codes.count(504)
    print(f"burst of {BURST}: {codes.count(201)} x 201, {codes.count(429)} x 429, {codes.count(504)} x 504")


def test_a_caller_who_hangs_up_stops_its_render_and_is_not_charged(deadline: Deadline) -> None:
    before = deadline.credits()
    # The page would tell the beacon 2 s in - inside the 3 s limit: only the hang-up can stop it.
    body = slow_page(deadline.beacon, "hangup", page_ms=2800, beacon_ms=2000)
    with pytest.raises(httpx.ReadTimeout):
        deadline.api.post("/v1/documents/transform", json=body, timeout=0.8)
    time.sleep(3.5)
    assert deadline.beacons("hangup") == 0  # the render was stopped when its caller left
    rows = deadline.sql("SELECT id, status, error_code FROM jobs ORDER BY created_at DESC LIMIT 1")
    assert rows[0][1:] == ("failed", "RENDER_TIMEOUT"), rows
    assert deadline.credits() == before


def bomb_png() -> bytes:
    """20000 x 20000 black RGB pixels: ~1 MB of PNG, 1.2 GB decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + 20_000 * 3)
    idat = b"".join(compressor.compress(row) for _ in range(20_000)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_an_image_bomb_is_422_on_chromium_and_a_warning_on_weasyprint(deadline: Deadline) -> None:
    before = deadline.credits()
    html = f'<p>text</p><img src="data:image/png;base64,{base64.b64encode(bomb_png()).decode()}">'
    started = time.monotonic()
    refused = deadline.api.post("/v1/documents/transform", json={"html": html})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "RENDER_RESOURCE_LIMIT"
    assert refused.json()["error"]["details"]["limit"] == "image_pixels"
    assert time.monotonic() - started < TIMEOUT_S
    assert deadline.credits() == before
    weasy = {"html": html, "options": {"engine": "weasyprint"}}
    drawn = deadline.api.post("/v1/documents/transform", json=weasy)
    assert drawn.status_code == 201, drawn.text
    assert len(drawn.json()["warnings"]) == 1 and "20000 x 20000" in drawn.json()["warnings"][0]
    as_pdf = deadline.api.post("/v1/documents/transform", json=weasy, headers={"Accept": "application/pdf"})
    assert as_pdf.status_code == 200 and json.loads(as_pdf.headers["x-render-warnings"]) == drawn.json()["warnings"]
    plain = deadline.api.post("/v1/documents/transform", json={"html": "<p>plain</p>"})
    assert "warnings" not in plain.json()
