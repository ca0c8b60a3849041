"""Signed, expiring download links: no API key needed, tamper-evident, time-limited."""

from __future__ import annotations

import time

from pressroom.core.crypto import constant_time_equal, sign


class UrlSigner:
    def __init__(self, secret: str, base_url: str) -> None:
        self._secret = secret
        self._base_url = base_url.rstrip("/")

    def _signature(self, document_id: str, expires: int) -> str:
        return sign(self._secret, f"download:{document_id}:{expires}")

    def url(self, document_id: str, ttl_s: int, now: float | None = None) -> tuple[str, int]:
        expires = int((now if now is not None else time.time()) + ttl_s)
        signature = self._signature(document_id, expires)
        return f"{self._base_url}/v1/files/{document_id}?expires={expires}&signature={signature}", expires

    def verify(self, document_id: str, expires: int, signature: str, now: float | None = None) -> bool:
        if expires < (now if now is not None else time.time()):
            return False
        return constant_time_equal(self._signature(document_id, expires), signature)
