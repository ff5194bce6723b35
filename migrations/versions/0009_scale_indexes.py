"""scale indexes: what the query plans at 1,000,000 bags asked for

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 17:00:00

SPEC 9. EXPLAIN on SQLite and PostgreSQL of the bedside verification queries and the list
pages at scale found every bedside lookup already indexed; the audit page filtered by user
(`username = ? ORDER BY id DESC`) scanned the whole trail.
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_entry_username_id", "audit_entry", ["username", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_entry_username_id", table_name="audit_entry")
