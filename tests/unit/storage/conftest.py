"""An S3 server for the storage tests: moto's standalone server on a loopback port (a real HTTP S3 API, no
mocks), or the shared one named by PRESSROOM_TEST_S3_ENDPOINT (``MotoServer.start`` decides)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support import S3_ENV, MotoServer


# One server for every storage test module (each bucket is unique per test): starting it costs seconds.
@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    saved = {k: os.environ.get(k) for k in S3_ENV}
    os.environ.update(S3_ENV)  # boto3 reads credentials from the environment, as in production
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    try:
        yield server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
