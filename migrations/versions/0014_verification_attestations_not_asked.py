"""verification attestations: true, false, or NULL when the client did not ask

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 10:00:00

SPEC 4.8, 5. `verification.identity_confirmed` and `verification.bag_intact` become nullable:
an API body without them is recorded as "not asked" (NULL) instead of a yes nobody gave.
Rows written before this revision keep the value they were given.

SQLite cannot drop NOT NULL in place, and rebuilding the table (Alembic's batch copy) fails
once infusions and near-misses reference verifications, since foreign keys are enforced and
cannot be switched off inside the migration's transaction. So on SQLite each column is moved
to a new nullable one (ADD, copy, DROP, RENAME COLUMN: SQLite 3.35 or later), which touches no
other table.
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

COLUMNS = ("identity_confirmed", "bag_intact")


def _move_sqlite(column: str, *, not_null: bool) -> None:
    spare = f"{column}_new"
    constraint = " NOT NULL DEFAULT 0" if not_null else ""
    op.execute(f"ALTER TABLE verification ADD COLUMN {spare} BOOLEAN{constraint}")
    op.execute(f"UPDATE verification SET {spare} = COALESCE({column}, 0)" if not_null
               else f"UPDATE verification SET {spare} = {column}")
    op.execute(f"ALTER TABLE verification DROP COLUMN {column}")
    op.execute(f"ALTER TABLE verification RENAME COLUMN {spare} TO {column}")


def upgrade() -> None:
    for column in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            _move_sqlite(column, not_null=False)
        else:
            op.alter_column("verification", column, existing_type=sa.Boolean(), nullable=True)


def downgrade() -> None:
    # "Not asked" was never a yes: it goes back as false.
    for column in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":
            _move_sqlite(column, not_null=True)
        else:
            op.execute(f"UPDATE verification SET {column} = false WHERE {column} IS NULL")
            op.alter_column("verification", column, existing_type=sa.Boolean(),
                            nullable=False)
