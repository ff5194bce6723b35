"""patient day 0 index: the follow-up worklist reads patients by day 0

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 19:30:00

SPEC 9. The follow-up worklist asks, for each visit week, for the active patients whose window
has opened, by day 0, up to the page's size; this index lets that read stop early instead of
sorting every patient.
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_patient_day0_id", "patient", ["day0", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_patient_day0_id", table_name="patient")
