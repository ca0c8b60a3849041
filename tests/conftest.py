from __future__ import annotations

import pytest

from tests.support import have_chromium, have_poppler


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # In CI a missing engine is a failure, not a skip: the machine is expected to have it.
    import os

    if os.environ.get("CI") and not (have_chromium() and have_poppler()):
        raise pytest.UsageError("CI: chromium and poppler-utils must be installed (run `make install`)")
