from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pressroom.core.crypto import new_webhook_secret, sha256_hex, standard_webhook_signature


def _headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_webhook_signature(secret, "msg_1", timestamp, body),
    }


def test_signature_verifies_with_the_reference_library() -> None:
    secret = new_webhook_secret()
    body = b'{"job_id":"job_1","status":"completed"}'
    payload = Webhook(secret).verify(body, _headers(secret, body, int(time.time())))
    assert payload == {"job_id": "job_1", "status": "completed"}


def test_reference_library_rejects_a_changed_body_or_secret() -> None:
    secret = new_webhook_secret()
    body = b'{"a":1}'
    headers = _headers(secret, body, int(time.time()))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(body, headers)


def test_sha256_hex() -> None:
    assert sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
