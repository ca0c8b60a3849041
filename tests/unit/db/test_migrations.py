"""Migrations apply from scratch on SQLite and PostgreSQL, form one linear history, and match the models."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

import pressroom.db
from pressroom.db.migrate import alembic_config, upgrade
from pressroom.db.models import Base
from tests.support import fresh_postgres_database, postgres_url


def _all_models() -> None:
    for module in pkgutil.iter_modules(pressroom.db.__path__):
        if module.name.startswith("models"):
            importlib.import_module(f"pressroom.db.{module.name}")


def test_one_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    # No merge revisions: every revision has exactly one parent (or none, for the first).
    assert all(rev.down_revision is None or isinstance(rev.down_revision, str) for rev in script.walk_revisions())


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_upgrade_from_scratch_matches_models(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        base = postgres_url()
        if base is None:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
        url = fresh_postgres_database(base)
    upgrade(url)
    upgrade(url)  # idempotent
    _all_models()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()
