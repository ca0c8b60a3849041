"""The account-scoped repository base on a real SQLite database with real models: another tenant's row is
never found (None, then the domain's 404), pages count and order only the account's rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from pressroom.core.errors import FolderNotFound, JobNotFound, NotFound
from pressroom.db.models import Account, Base, Folder, Job
from pressroom.db.repository import AccountScoped
from pressroom.db.session import Database


class Folders(AccountScoped[Folder]):
    model = Folder
    not_found = FolderNotFound


class Jobs(AccountScoped[Job]):
    model = Job
    not_found = JobNotFound
    newest_first = True


class DetailedFolders(Folders):
    def missing(self, row_id: str) -> NotFound:
        return FolderNotFound(details={"folder_id": row_id})


class UnnamedError(AccountScoped[Folder]):
    model = Folder
    not_found: ClassVar[type[NotFound]] = NotFound


T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'scoped.db'}")
    Base.metadata.create_all(database.engine)
    with database.session() as session:
        for account_id in ("acc_a", "acc_b"):
            session.add(Account(id=account_id, name=account_id, plan="free", webhook_secret="s"))
        session.flush()
        for index in range(3):  # inserted out of order: the page orders by created_at, not by insertion
            session.add(
                Folder(id=f"fld_a{index}", account_id="acc_a", name=f"a{index}", created_at=T0 - timedelta(index))
            )
        session.add(Folder(id="fld_b0", account_id="acc_b", name="b0", created_at=T0))
    yield database
    database.dispose()


def test_get_finds_the_accounts_row_and_not_another_tenants(db: Database) -> None:
    with db.session() as session:
        folders = Folders(session)
        found = folders.get("acc_a", "fld_a0")
        assert found is not None and found.name == "a0"
        assert folders.get("acc_b", "fld_a0") is None  # exists, but belongs to acc_a
        assert folders.get("acc_a", "fld_missing") is None


def test_get_or_raise_answers_another_tenants_id_with_the_domains_404(db: Database) -> None:
    with db.session() as session:
        folders = Folders(session)
        assert folders.get_or_raise("acc_b", "fld_b0").id == "fld_b0"
        with pytest.raises(FolderNotFound) as other_tenant:
            folders.get_or_raise("acc_b", "fld_a0")
        with pytest.raises(FolderNotFound) as missing:
            folders.get_or_raise("acc_b", "fld_nope")
    # Indistinguishable: another tenant's id answers exactly like an id that never existed.
    assert other_tenant.value.to_dict() == missing.value.to_dict()
    assert other_tenant.value.status == 404
    assert other_tenant.value.code == "FOLDER_NOT_FOUND"


def test_missing_is_the_hook_for_a_domains_details(db: Database) -> None:
    with db.session() as session, pytest.raises(FolderNotFound) as raised:
        DetailedFolders(session).get_or_raise("acc_b", "fld_a0")
    assert raised.value.details == {"folder_id": "fld_a0"}
    with db.session() as session, pytest.raises(NotFound) as plain:
        UnnamedError(session).get_or_raise("acc_b", "fld_a0")
    assert plain.value.code == "NOT_FOUND"


def test_get_any_ignores_the_account(db: Database) -> None:
    with db.session() as session:
        found = Folders(session).get_any("fld_a1")
        assert found is not None and found.account_id == "acc_a"
        assert Folders(session).get_any("fld_missing") is None


def test_page_counts_and_orders_only_the_accounts_rows(db: Database) -> None:
    with db.session() as session:
        folders = Folders(session)
        rows, total = folders.page("acc_a", 2, 0)
        assert total == 3
        assert [row.id for row in rows] == ["fld_a2", "fld_a1"]  # oldest first
        rest, _ = folders.page("acc_a", 2, 2)
        assert [row.id for row in rest] == ["fld_a0"]
        other, other_total = folders.page("acc_b", 10, 0)
        assert other_total == 1 and [row.id for row in other] == ["fld_b0"]


def test_page_filters_narrow_within_the_account(db: Database) -> None:
    with db.session() as session:
        rows, total = Folders(session).page("acc_a", 10, 0, Folder.name == "a1")
        assert total == 1 and [row.id for row in rows] == ["fld_a1"]
        # A filter naming another tenant's row still finds nothing: the account filter always applies.
        rows, total = Folders(session).page("acc_a", 10, 0, Folder.id == "fld_b0")
        assert (rows, total) == ([], 0)


def test_newest_first_pages_break_ties_by_id(db: Database) -> None:
    with db.session() as session:
        jobs = Jobs(session)
        for job_id, created in (("job_1", T0), ("job_3", T0), ("job_2", T0 + timedelta(1))):
            jobs.add(Job(id=job_id, account_id="acc_a", operation="generate", input={}, created_at=created))
        jobs.add(Job(id="job_b", account_id="acc_b", operation="generate", input={}, created_at=T0))
        rows, total = jobs.page("acc_a", 10, 0)
        assert total == 3
        assert [row.id for row in rows] == ["job_2", "job_1", "job_3"]


def test_add_flushes_and_delete_removes_in_the_callers_transaction(db: Database) -> None:
    with db.session() as session:
        folders = Folders(session)
        added = folders.add(Folder(id="fld_new", account_id="acc_b", name="new"))
        assert added.created_at is not None  # the column default was applied by the flush
        folders.delete(folders.get_or_raise("acc_a", "fld_a0"))
    with db.session() as session:
        assert Folders(session).get("acc_b", "fld_new") is not None
        assert Folders(session).get("acc_a", "fld_a0") is None


def test_the_repository_never_commits_a_transaction_that_fails(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as session:
        Folders(session).add(Folder(id="fld_lost", account_id="acc_a", name="lost"))
        raise RuntimeError("the caller fails after the repository wrote")
    with db.session() as session:
        assert Folders(session).get_any("fld_lost") is None
