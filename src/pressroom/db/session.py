"""Engine and session factory. SQLite runs in WAL mode with a busy timeout so threads can share it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from pressroom.config import DatabaseSettings


def build_engine(url: str, pool: DatabaseSettings | None = None) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, json_deserializer=read_json
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    pool = pool or DatabaseSettings()
    # pre_ping: a connection PostgreSQL dropped (restart, pg_terminate_backend, idle timeout) is replaced on
    # checkout instead of failing the next request.
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool.pool_size,
        max_overflow=pool.max_overflow,
        pool_timeout=pool.pool_timeout_s,
        pool_recycle=pool.pool_recycle_s,
        json_deserializer=read_json,
    )


# A surrogate escape in stored JSON text; json.loads joins valid pairs, so what remains after it is lone.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def read_json(text: str | bytes) -> Any:
    """json.loads for JSON columns, tolerant of rows written before the API refused lone surrogates.

    Such a string cannot be encoded as UTF-8, so one old row would fail every response (and every list
    page) that includes it; its lone surrogates are read as U+FFFD instead. Rows without a surrogate
    escape (all rows the API writes now) are plain json.loads.
    """
    value = json.loads(text)
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return _scrub(value) if _SURROGATE_ESCAPE.search(raw) else value


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, dict):
        return {_scrub(key): _scrub(item) for key, item in value.items()}
    return value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    def __init__(self, url: str, pool: DatabaseSettings | None = None) -> None:
        self.url = url
        self.engine = build_engine(url, pool)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
