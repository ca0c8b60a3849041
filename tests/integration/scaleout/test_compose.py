"""docker-compose.yml cannot run here (no Docker engine), so check that it says what the tests run.

Same commands (API nodes: ``serve --no-worker``; workers: ``pressroom worker``), and only variables the
loopback clusters of the tests set, each of which the settings accept with the compose value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pressroom.config import Settings

ROOT = Path(__file__).resolve().parents[3]
TEST_SOURCES = [ROOT / "tests/integration/scaleout/cluster.py", ROOT / "tests/e2e/conftest.py"]
# On loopback, clients and servers reach S3 at the same address; in compose the host does not resolve
# "s3". The setting itself is tested in tests/unit/storage/test_s3.py.
COMPOSE_ONLY = {"PRESSROOM_STORAGE__PUBLIC_ENDPOINT_URL"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_topology_is_two_api_nodes_two_workers_and_the_backing_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "s3", "migrate", "api1", "api2", "worker1", "worker2"} <= set(services)
    for name in ("api1", "api2"):
        assert services[name]["command"][:2] == ["pressroom", "serve"] and "--no-worker" in services[name]["command"]
    for name in ("worker1", "worker2"):
        assert services[name]["command"][:2] == ["pressroom", "worker"]
    assert services["migrate"]["command"] == ["pressroom", "migrate"]


def test_variables_are_the_tested_ones_and_valid_settings(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    tested = "\n".join(path.read_text() for path in TEST_SOURCES)
    for name in ("api1", "api2", "worker1", "worker2", "migrate"):
        env = {k: str(v) for k, v in compose["services"][name]["environment"].items()}
        for key in env:
            if key.startswith("PRESSROOM_") and key not in COMPOSE_ONLY:
                assert f'"{key}"' in tested, f"{name}: {key} is not set by any scale-out test"
        for key in list(env):
            monkeypatch.setenv(key, env[key])
        settings = Settings()
        assert settings.queue == "celery" and settings.broker_url and settings.broker_url.startswith("redis://")
        assert settings.resolved_database_url.startswith("postgresql+psycopg://")
        assert settings.storage_url and settings.storage_url.startswith("s3://")
        assert settings.storage.create_bucket is True
