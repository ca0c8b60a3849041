"""Admission cost against the size of an account's credit ledger (issue #12, item 13).

The balance used to be ``SUM(amount)`` over every ledger entry of the account, on every request's path; a
job writes two entries, so admission slowed down as an account aged. It is now a running total on the
account row (``accounts.credit_balance``), moved in the transaction that writes each entry. This script
shows that admission costs the same whatever the ledger size:

- four accounts whose ledgers hold 1e3, 1e4, 1e5 and 1e6 entries (reserve/settle pairs spread over the
  past year, built with bulk inserts: executemany on SQLite, COPY on PostgreSQL), in one database;
- then rounds that interleave the accounts (so background load on the machine hits every size alike),
  timing per operation:
    admit    the job-creating transaction: lock the account, check limits, read the balance, insert the
             job, reserve its price (what JobService._write does)
    finish   the job's final transaction: status + settle (what the runner does)
    read     credits_left (GET /v1/credits, the `credits_left` of every producing response)
    SUM      for contrast, the old balance query: SUM(amount) over the account's ledger
- printed as p50/p95 and as the ratio of each size's p50 to the 1e3 account's p50 (1.00 = flat).

    .venv/bin/python bench/credits_admission.py [--backend sqlite|postgres|both] [--rounds 200]
        [--sizes 1000,10000,100000,1000000] [--max-ratio 1.5]

PostgreSQL: PRESSROOM_TEST_POSTGRES (default postgresql+psycopg://postgres@127.0.0.1:5432/test); a scratch
database is created and dropped. Exits 1 if an admission ratio exceeds ``--max-ratio``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from itertools import islice
from pathlib import Path

from common import percentile
from pressroom.config import BillingSettings
from pressroom.core.clock import utcnow
from pressroom.core.ids import new_id
from pressroom.core.principal import Principal
from pressroom.credits.repository import CreditRepository
from pressroom.credits.service import CreditService
from pressroom.db.migrate import upgrade
from pressroom.db.models import Account, Job
from pressroom.db.models_tenancy import CreditEntry
from pressroom.db.session import Database

ENTRY_COLUMNS = ("id", "account_id", "job_id", "kind", "amount", "period", "note", "created_at")
CHUNK = 50_000


def ledger_rows(account_id: str, size: int) -> Iterator[tuple[object, ...]]:
    """``size`` entries as the ledger of a busy account looks: reserve -1 / settle 0 pairs of past jobs,
    one a few minutes apart over the past year (all before this month: this month's allowance is not yet
    there, so the first admission of the bench writes it, as in production)."""
    now = utcnow()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=365)
    step = timedelta(days=360) / max(1, size // 2)
    for pair in range(size // 2):
        job_id = f"job_{account_id[-6:]}{pair:09d}"
        at = start + step * pair
        yield (f"cre_{account_id[-6:]}r{pair:09d}", account_id, job_id, "reserve", -1, None, "", at)
        yield (f"cre_{account_id[-6:]}s{pair:09d}", account_id, job_id, "settle", 0, None, "", at)


def bulk_insert(db: Database, account_id: str, size: int) -> None:
    if db.engine.dialect.name == "postgresql":
        raw = db.engine.raw_connection()
        try:
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                columns = ", ".join(ENTRY_COLUMNS)
                with cursor.copy(f"COPY credit_entries ({columns}) FROM STDIN") as copy:
                    for row in ledger_rows(account_id, size):
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    # SQLite: the driver's executemany over plain tuples, with created_at bound exactly as the model binds it.
    to_db = CreditEntry.__table__.c.created_at.type.bind_processor(db.engine.dialect)
    assert to_db is not None
    columns, placeholders = ", ".join(ENTRY_COLUMNS), ", ".join("?" for _ in ENTRY_COLUMNS)
    rows = ((*row[:-1], to_db(row[-1])) for row in ledger_rows(account_id, size))
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        while chunk := list(islice(rows, CHUNK)):
            cursor.executemany(
                f"INSERT INTO credit_entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({placeholders})", chunk
            )
        raw.commit()
    finally:
        raw.close()


def build(db: Database, sizes: list[int]) -> list[str]:
    """One account per size, its ledger bulk-inserted, its running balance filled as migration 0007 does
    (the bulk insert bypasses CreditRepository.add), then statistics refreshed as autovacuum would."""
    accounts: list[str] = []
    with db.session() as session:
        for size in sizes:
            account = Account(id=new_id("acc"), name=f"ledger-{size}", plan="enterprise", webhook_secret="whsec_x")
            session.add(account)
            accounts.append(account.id)
    for account_id, size in zip(accounts, sizes, strict=True):
        started = time.perf_counter()
        bulk_insert(db, account_id, size)
        print(f"  {size:>9,} entries inserted in {time.perf_counter() - started:5.1f} s", flush=True)
    with db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE accounts SET credit_balance = COALESCE((SELECT SUM(credit_entries.amount) FROM credit_entries "
            "WHERE credit_entries.account_id = accounts.id), 0)"
        )
        conn.exec_driver_sql("ANALYZE")
    return accounts


def admit(db: Database, credits: CreditService, principal: Principal) -> str:
    with db.session() as session:
        admission = credits.admit(session, principal, "generate", {}, webhook=False)
        job = Job(
            id=new_id("job"),
            account_id=principal.account_id,
            operation="generate",
            key_mode=principal.mode,
            key_id=principal.key_id,
            price=admission.price,
            input={},
        )
        session.add(job)
        session.flush()
        credits.reserve(session, job)
        return job.id


def finish(db: Database, credits: CreditService, job_id: str) -> None:
    with db.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        job.status = "completed"
        credits.settle_or_release(session, job, None)


def ledger_sum(db: Database, account_id: str) -> None:
    with db.session() as session:
        CreditRepository(session).ledger_sum(account_id)


def timed(operation: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = operation()
    return (time.perf_counter() - started) * 1000, result


def run(db: Database, sizes: list[int], rounds: int) -> dict[str, dict[int, list[float]]]:
    accounts = build(db, sizes)
    credits = CreditService(db, BillingSettings())
    principals = {size: Principal(acc, "key_bench", "live") for size, acc in zip(sizes, accounts, strict=True)}
    for size, principal in principals.items():  # warm-up: this month's top-up, caches, the pool
        for _ in range(5):
            finish(db, credits, admit(db, credits, principal))
        with db.session() as session:
            repo = CreditRepository(session)
            assert repo.balance(principal.account_id) == repo.ledger_sum(principal.account_id), size
    samples: dict[str, dict[int, list[float]]] = {
        op: {s: [] for s in sizes} for op in ("admit", "finish", "read", "SUM")
    }
    order = list(sizes)
    rng = random.Random(12)
    for _ in range(rounds):
        rng.shuffle(order)
        for size in order:
            principal = principals[size]
            elapsed, job_id = timed(partial(admit, db, credits, principal))
            samples["admit"][size].append(elapsed)
            samples["finish"][size].append(timed(partial(finish, db, credits, str(job_id)))[0])
            samples["read"][size].append(timed(partial(credits.credits_left, principal.account_id))[0])
            if len(samples["SUM"][size]) < max(10, rounds // 10):  # the old query is only the contrast
                samples["SUM"][size].append(timed(partial(ledger_sum, db, principal.account_id))[0])
    for principal in principals.values():  # the running balance still equals the ledger it summarizes
        with db.session() as session:
            repo = CreditRepository(session)
            assert repo.balance(principal.account_id) == repo.ledger_sum(principal.account_id)
    return samples


def report(backend: str, sizes: list[int], samples: dict[str, dict[int, list[float]]]) -> float:
    base = sizes[0]
    print(f"\n{backend}: p50 / p95 in ms, and ratio of p50 to the {base:,}-entry ledger (1.00 = flat)")
    print(f"  {'ledger entries':>14} " + "".join(f"{op:>28}" for op in samples))
    for size in sizes:
        cells = []
        for op in samples:
            values, reference = samples[op][size], percentile(samples[op][base], 50)
            p50 = percentile(values, 50)
            cells.append(f"{p50:7.2f} /{percentile(values, 95):7.2f}  x{p50 / reference:6.2f}")
        print(f"  {size:>14,} " + "".join(f"{cell:>28}" for cell in cells))
    worst = max(percentile(samples["admit"][s], 50) / percentile(samples["admit"][base], 50) for s in sizes)
    print(f"  worst admission ratio: x{worst:.2f}")
    return worst


@contextmanager
def database(backend: str) -> Iterator[Database | None]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            upgrade(url)
            db = Database(url)
            try:
                yield db
            finally:
                db.dispose()
        return
    from tests.support import fresh_postgres_database, postgres_url  # importable once `common` set sys.path

    base = postgres_url()
    if base is None:
        print("\npostgres: not reachable (PRESSROOM_TEST_POSTGRES), skipped")
        yield None
        return
    url = fresh_postgres_database(base)
    db = Database(url)
    try:
        upgrade(url)
        yield db
    finally:
        db.dispose()
        import psycopg

        with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--max-ratio", type=float, default=1.5)
    args = parser.parse_args()
    sizes = [int(float(size)) for size in args.sizes.split(",")]
    failed = False
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        with database(backend) as db:
            if db is None:
                continue
            print(f"\n{backend}: building ledgers of {', '.join(f'{s:,}' for s in sizes)} entries", flush=True)
            started = time.perf_counter()
            samples = run(db, sizes, args.rounds)
            worst = report(backend, sizes, samples)
            print(f"  ({time.perf_counter() - started:.0f} s in all)")
            failed |= worst > args.max_ratio
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
