"""audit checkpoints: signed anchors of the audit chain, append-only like the trail

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 21:00:00

SPEC 5, 9: every so often the chain's length and head hash are signed with a key the database
does not hold (ucmsc_lims/core/checkpoints.py). Triggers refuse UPDATE, DELETE and (on
PostgreSQL) TRUNCATE of a checkpoint, as they do for the entries.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION audit_checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit checkpoints are append-only: % refused', TG_OP;
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chain_seq", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_mac", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
        sa.UniqueConstraint("chain_seq", name=op.f("uq_audit_checkpoint_chain_seq")),
        sa.UniqueConstraint("mac", name=op.f("uq_audit_checkpoint_mac")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for name, event, level in (
            ("audit_checkpoint_no_update", "UPDATE", "ROW"),
            ("audit_checkpoint_no_delete", "DELETE", "ROW"),
            ("audit_checkpoint_no_truncate", "TRUNCATE", "STATEMENT"),
        ):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_checkpoint "
                f"FOR EACH {level} EXECUTE FUNCTION audit_checkpoint_append_only()"
            )
    else:
        for name, event in (("audit_checkpoint_no_update", "UPDATE"),
                            ("audit_checkpoint_no_delete", "DELETE")):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_checkpoint BEGIN "
                f"SELECT RAISE(ABORT, 'audit checkpoints are append-only: {event} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("audit_checkpoint_no_update", "audit_checkpoint_no_delete",
                     "audit_checkpoint_no_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON audit_checkpoint")
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoint_append_only()")
    op.drop_table("audit_checkpoint")
