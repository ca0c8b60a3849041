"""The operations a job can run. Domains register handlers; the runner only knows this interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobContext:
    job_id: str
    account_id: str
    key_mode: str
    attempt: int
    is_async: bool = True


@dataclass(frozen=True)
class Output:
    """What an operation produced; the runner stores it and has the document row written.

    ``report``: what the operation measured (bytes in/out, steps, PDF/A level...), kept with the finished
    job in the transaction that ends it and handed back to a sync caller in the runner's outcome."""

    data: bytes
    filename: str
    pages: int
    content_type: str = "application/pdf"
    template_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] | None = None


Operation = Callable[[JobContext, dict[str, Any]], Output]


class OperationRegistry:
    def __init__(self) -> None:
        self._operations: dict[str, Operation] = {}

    def register(self, name: str, operation: Operation) -> None:
        self._operations[name] = operation

    def get(self, name: str) -> Operation:
        return self._operations[name]

    def __contains__(self, name: object) -> bool:
        return name in self._operations
