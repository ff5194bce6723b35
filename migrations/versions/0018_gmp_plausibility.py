"""GMP plausibility: a passage's reason for an unusual doubling time, the passage a deviation
stops, and the time a QC sample was taken

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-27 09:00:00

SPEC 4.2, 4.3. A doubling time outside the plausible range is recorded with its reason; one no
cell can reach opens a deviation on that passage; a passing QC result is entered no earlier
than its sample time plus the test's duration, so the sample time is kept with the result.
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("passage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("growth_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("deviation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passage_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_deviation_passage_id_passage"), "passage",
                                    ["passage_id"], ["id"])
    with op.batch_alter_table("qc_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite: a table copy (batch mode) of qc_result or passage would drop a table other rows
    # still point at, which foreign keys refuse; their plain columns are dropped in place.
    # Nothing points at deviation, so its copy is safe.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("ALTER TABLE qc_result DROP COLUMN sampled_at")
    else:
        op.drop_column("qc_result", "sampled_at")
    with op.batch_alter_table("deviation", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_deviation_passage_id_passage"),
                                 type_="foreignkey")
        batch_op.drop_column("passage_id")
    if sqlite:
        op.execute("ALTER TABLE passage DROP COLUMN growth_reason")
    else:
        op.drop_column("passage", "growth_reason")
