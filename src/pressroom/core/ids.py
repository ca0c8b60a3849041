"""Identifiers: a type prefix plus a time-ordered random part (sortable, unguessable)."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str) -> str:
    millis = int(time.time() * 1000)
    return f"{prefix}_{millis:012x}{secrets.token_hex(8)}"
