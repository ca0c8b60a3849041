"""Synchronous calls into the network gate and the safe client, for the sync service layer."""

from __future__ import annotations

from typing import Protocol

from pressroom.aio import LoopThread
from pressroom.net.client import SafeHttpClient
from pressroom.net.gate import NetworkGate


class UrlChecker(Protocol):
    """Checks a webhook URL against the network gate at submission (BlockingNet is the implementation)."""

    def check_webhook_url(self, url: str) -> None: ...


class BlockingNet:
    def __init__(self, gate: NetworkGate, client: SafeHttpClient, loop: LoopThread) -> None:
        self.gate = gate
        self.client = client
        self.loop = loop

    def check_webhook_url(self, url: str) -> None:
        """Raise UrlForbidden (422) now, at submission, rather than failing every delivery later."""
        self.loop.run(self.gate.check(url, "webhook"))

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> int:
        result = self.loop.run(
            self.client.fetch(
                url,
                purpose="webhook",
                method="POST",
                headers=headers,
                content=body,
                max_bytes=64 * 1024,
                follow_redirects=False,  # a webhook target answers itself; a redirect is a failure
                timeout_s=timeout_s,
            )
        )
        return result.status
