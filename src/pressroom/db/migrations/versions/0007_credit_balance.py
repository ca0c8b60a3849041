"""running credit balance

Revision ID: 0007
Revises: 0006

`accounts.credit_balance` holds the sum of the account's ledger, kept by every ledger write, so admission no
longer sums `credit_entries` (which grows by two rows a job). The backfill is one portable UPDATE with a
correlated sub-select (SQLite and PostgreSQL); it runs inside the migration's transaction, so a ledger entry
cannot slip in between the column appearing and being filled.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_balance", sa.BigInteger(), server_default="0", nullable=False))
    op.execute(
        "UPDATE accounts SET credit_balance = COALESCE("
        "(SELECT SUM(credit_entries.amount) FROM credit_entries WHERE credit_entries.account_id = accounts.id), 0)"
    )
    with op.batch_alter_table("credit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_credit_entries_account_created", ["account_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_entries_account_created")
    # A plain ALTER (SQLite >= 3.35 and PostgreSQL), not a batch copy: recreating `accounts` on SQLite with
    # foreign keys on would cascade the DROP of the old table to every tenant-owned row.
    op.execute("ALTER TABLE accounts DROP COLUMN credit_balance")
