"""bagging: fill sessions, bags, their label issues and their (unblinded) source

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-25 16:30:00

SPEC 4.5, 4.6, 4.7. `bag_source` holds what only unblinded services read (arm, lot, cells,
materials). A dose has one bag among those not void, returned or destroyed (partial unique index).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fill_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("room", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["user_account.id"],
            name=op.f("fk_fill_session_started_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fill_session")),
        sa.UniqueConstraint("day", "room", name=op.f("uq_fill_session_day_room")),
    )
    with op.batch_alter_table("fill_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fill_session_day"), ["day"], unique=False)
    op.create_table(
        "bag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bag_id", sa.String(length=10), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("dose_id", sa.Integer(), nullable=False),
        sa.Column("fill_session_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("held_from", sa.String(length=20), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("label_issue", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=13), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filled_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("volume_ml", sa.Integer(), nullable=True),
        sa.Column("prepared_weight_kg", sa.Double(), nullable=True),
        sa.Column("fill_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fill_verified_by_id", sa.Integer(), nullable=True),
        sa.Column("fill_signature_id", sa.Integer(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("release_signature_id", sa.Integer(), nullable=True),
        sa.Column("destination_ward", sa.String(length=40), nullable=True),
        sa.CheckConstraint("label_issue BETWEEN 1 AND 99", name=op.f("ck_bag_label_issue")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user_account.id"], name=op.f("fk_bag_created_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(["dose_id"], ["dose.id"], name=op.f("fk_bag_dose_id_dose")),
        sa.ForeignKeyConstraint(
            ["fill_session_id"],
            ["fill_session.id"],
            name=op.f("fk_bag_fill_session_id_fill_session"),
        ),
        sa.ForeignKeyConstraint(
            ["fill_signature_id"], ["signature.id"], name=op.f("fk_bag_fill_signature_id_signature")
        ),
        sa.ForeignKeyConstraint(
            ["fill_verified_by_id"],
            ["user_account.id"],
            name=op.f("fk_bag_fill_verified_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["filled_by_id"], ["user_account.id"], name=op.f("fk_bag_filled_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_bag_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["release_signature_id"],
            ["signature.id"],
            name=op.f("fk_bag_release_signature_id_signature"),
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"], ["user_account.id"], name=op.f("fk_bag_released_by_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bag")),
        sa.UniqueConstraint("bag_id", name=op.f("uq_bag_bag_id")),
        sa.UniqueConstraint("code", name=op.f("uq_bag_code")),
    )
    with op.batch_alter_table("bag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bag_dose_id"), ["dose_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bag_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bag_fill_session_id"), ["fill_session_id"], unique=False
        )
        batch_op.create_index("ix_bag_patient_id_bag_id", ["patient_id", "bag_id"], unique=False)
        batch_op.create_index("ix_bag_status_bag_id", ["status", "bag_id"], unique=False)
        batch_op.create_index(
            "uq_bag_dose_id_active",
            ["dose_id"],
            unique=True,
            postgresql_where=sa.text("status NOT IN ('void', 'returned', 'destroyed')"),
            sqlite_where=sa.text("status NOT IN ('void', 'returned', 'destroyed')"),
        )
    op.create_table(
        "bag_label_issue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bag_id", sa.Integer(), nullable=False),
        sa.Column("issue", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=13), nullable=False),
        sa.Column("printed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("printed_by_id", sa.Integer(), nullable=True),
        sa.Column("print_count", sa.Integer(), nullable=False),
        sa.Column("printed_expiry", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["bag_id"], ["bag.id"], name=op.f("fk_bag_label_issue_bag_id_bag")),
        sa.ForeignKeyConstraint(
            ["printed_by_id"],
            ["user_account.id"],
            name=op.f("fk_bag_label_issue_printed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["voided_by_id"],
            ["user_account.id"],
            name=op.f("fk_bag_label_issue_voided_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bag_label_issue")),
        sa.UniqueConstraint("bag_id", "issue", name=op.f("uq_bag_label_issue_bag_id_issue")),
        sa.UniqueConstraint("code", name=op.f("uq_bag_label_issue_code")),
    )
    op.create_table(
        "bag_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bag_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(length=1), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("cells", sa.Double(), nullable=True),
        sa.Column("cells_per_ml", sa.Double(), nullable=True),
        sa.Column("source_material_id", sa.Integer(), nullable=True),
        sa.Column("anticoagulant_material_id", sa.Integer(), nullable=False),
        sa.Column("saline_material_id", sa.Integer(), nullable=False),
        sa.Column("container_material_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(arm = 'A' AND lot_id IS NOT NULL AND cells > 0) OR "
            "(arm = 'B' AND lot_id IS NULL AND cells IS NULL)",
            name=op.f("ck_bag_source_source_matches_arm"),
        ),
        sa.CheckConstraint("arm IN ('A', 'B')", name=op.f("ck_bag_source_arm")),
        sa.ForeignKeyConstraint(
            ["anticoagulant_material_id"],
            ["material_lot.id"],
            name=op.f("fk_bag_source_anticoagulant_material_id_material_lot"),
        ),
        sa.ForeignKeyConstraint(["bag_id"], ["bag.id"], name=op.f("fk_bag_source_bag_id_bag")),
        sa.ForeignKeyConstraint(
            ["container_material_id"],
            ["material_lot.id"],
            name=op.f("fk_bag_source_container_material_id_material_lot"),
        ),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_bag_source_lot_id_lot")),
        sa.ForeignKeyConstraint(
            ["saline_material_id"],
            ["material_lot.id"],
            name=op.f("fk_bag_source_saline_material_id_material_lot"),
        ),
        sa.ForeignKeyConstraint(
            ["source_material_id"],
            ["material_lot.id"],
            name=op.f("fk_bag_source_source_material_id_material_lot"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bag_source")),
        sa.UniqueConstraint("bag_id", name=op.f("uq_bag_source_bag_id")),
    )
    with op.batch_alter_table("bag_source", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bag_source_anticoagulant_material_id"),
            ["anticoagulant_material_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_bag_source_container_material_id"),
            ["container_material_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_bag_source_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bag_source_saline_material_id"), ["saline_material_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bag_source_source_material_id"), ["source_material_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("bag_source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bag_source_source_material_id"))
        batch_op.drop_index(batch_op.f("ix_bag_source_saline_material_id"))
        batch_op.drop_index(batch_op.f("ix_bag_source_lot_id"))
        batch_op.drop_index(batch_op.f("ix_bag_source_container_material_id"))
        batch_op.drop_index(batch_op.f("ix_bag_source_anticoagulant_material_id"))
    op.drop_table("bag_source")
    op.drop_table("bag_label_issue")
    with op.batch_alter_table("bag", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_bag_dose_id_active",
            postgresql_where=sa.text("status NOT IN ('void', 'returned', 'destroyed')"),
            sqlite_where=sa.text("status NOT IN ('void', 'returned', 'destroyed')"),
        )
        batch_op.drop_index("ix_bag_status_bag_id")
        batch_op.drop_index("ix_bag_patient_id_bag_id")
        batch_op.drop_index(batch_op.f("ix_bag_fill_session_id"))
        batch_op.drop_index(batch_op.f("ix_bag_expires_at"))
        batch_op.drop_index(batch_op.f("ix_bag_dose_id"))
    op.drop_table("bag")
    with op.batch_alter_table("fill_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fill_session_day"))
    op.drop_table("fill_session")
