"""Session-wide test setup: what each test needs, as markers, so ``make test-fast`` can leave out the
tests that need a browser, a real HTML engine or a Pressroom process (a deselection: they are not run, not
reported as skips).

Markers are applied here, by where a test lives and which fixtures it uses, so a new test in those places
is classified without anyone remembering to mark it:

- ``server``: starts Pressroom server or worker processes (the end-to-end suite, the scale-out cluster, the
  CLI run as a subprocess).
- ``chromium``: renders with the OS Chromium (uses the ``chromium`` engine fixture, or is parametrized over
  the Chromium engine); the end-to-end suite is marked by its own conftest.
- ``engine``: drives a real HTML engine's processes (Chromium, the WeasyPrint worker pool): the engine
  suites under tests/integration/rendering. The fast suite renders with rendering/fake.py instead.
- ``services`` (and ``postgres``): talks to a server process of a backing service - PostgreSQL, Redis,
  RabbitMQ, the S3 server (moto) - chosen by a fixture parameter ("postgres", "redis", "s3", ...) or by
  using the S3 server fixture. The same tests' SQLite / memory / filesystem variants stay in the fast suite.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import have_chromium, have_poppler

TESTS = Path(__file__).resolve().parent
# Every test under these paths starts `pressroom serve`, `pressroom worker` or the CLI as a process.
SERVER_PATHS = (
    TESTS / "e2e",
    TESTS / "integration" / "scaleout",
    TESTS / "integration" / "test_cli_accounts.py",
    TESTS / "integration" / "test_cli_render.py",
)
ENGINE_PATHS = (TESTS / "integration" / "rendering",)
# Fixture parameters naming a backend that is a server process, and fixtures that start or find one.
SERVICE_PARAMS = frozenset({"postgres", "redis", "s3", "celery-redis", "celery-rabbitmq"})
SERVICE_FIXTURES = frozenset({"moto", "moto_server"})


def _uses_chromium(item: pytest.Item) -> bool:
    if "chromium" in getattr(item, "fixturenames", ()):
        return True
    callspec = getattr(item, "callspec", None)
    # Tests parametrized over the engines pick the engine fixture by name at run time.
    return callspec is not None and "chromium" in callspec.params.values()


def _backends(item: pytest.Item) -> set[str]:
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    found = {value for value in params if isinstance(value, str) and value in SERVICE_PARAMS}
    if SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
        found.add("s3")
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # In CI a missing engine is a failure, not a skip: the machine is expected to have it.
    if os.environ.get("CI") and not (have_chromium() and have_poppler()):
        raise pytest.UsageError("CI: chromium and poppler-utils must be installed (run `make install`)")
    for item in items:
        path = Path(item.path)
        if any(path == root or path.is_relative_to(root) for root in SERVER_PATHS):
            item.add_marker(pytest.mark.server)
        if any(path.is_relative_to(root) for root in ENGINE_PATHS):
            item.add_marker(pytest.mark.engine)
        if _uses_chromium(item):
            item.add_marker(pytest.mark.chromium)
        backends = _backends(item)
        if backends:
            item.add_marker(pytest.mark.services)
        if "postgres" in backends:
            item.add_marker(pytest.mark.postgres)
