"""product holds: bags held for what is in them, and the saline bags held with them for parity

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 10:00:00

SPEC 4.5 (placebo parity), 4.7, 4.9. A lot hold, a recall or a look-back puts the cell bags on
hold and, in the same transaction, a matched set of saline bags; which of them is real is kept
here, read by unblinded roles only. A bag is in at most one open product hold at a time.
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_hold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=False),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('lot_hold', 'recall', 'lookback')",
                           name=op.f("ck_product_hold_kind")),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_product_hold_lot_id_lot")),
        sa.ForeignKeyConstraint(["opened_by_id"], ["user_account.id"],
                                name=op.f("fk_product_hold_opened_by_id_user_account")),
        sa.ForeignKeyConstraint(["signature_id"], ["signature.id"],
                                name=op.f("fk_product_hold_signature_id_signature")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_hold")),
    )
    with op.batch_alter_table("product_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_hold_lot_id"), ["lot_id"], unique=False)

    op.create_table(
        "product_hold_bag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("bag_id", sa.Integer(), nullable=False),
        sa.Column("parity", sa.Boolean(), nullable=False),
        sa.Column("held_from", sa.String(length=20), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_to", sa.String(length=20), nullable=True),
        sa.Column("left_by_id", sa.Integer(), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["bag_id"], ["bag.id"],
                                name=op.f("fk_product_hold_bag_bag_id_bag")),
        sa.ForeignKeyConstraint(["hold_id"], ["product_hold.id"],
                                name=op.f("fk_product_hold_bag_hold_id_product_hold")),
        sa.ForeignKeyConstraint(["left_by_id"], ["user_account.id"],
                                name=op.f("fk_product_hold_bag_left_by_id_user_account")),
        sa.ForeignKeyConstraint(["signature_id"], ["signature.id"],
                                name=op.f("fk_product_hold_bag_signature_id_signature")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_hold_bag")),
        sa.UniqueConstraint("hold_id", "bag_id",
                            name=op.f("uq_product_hold_bag_hold_id_bag_id")),
    )
    with op.batch_alter_table("product_hold_bag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_hold_bag_bag_id"), ["bag_id"],
                              unique=False)
        batch_op.create_index(
            "uq_product_hold_bag_open_bag_id", ["bag_id"], unique=True,
            postgresql_where=sa.text("left_at IS NULL"),
            sqlite_where=sa.text("left_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("product_hold_bag", schema=None) as batch_op:
        batch_op.drop_index("uq_product_hold_bag_open_bag_id")
        batch_op.drop_index(batch_op.f("ix_product_hold_bag_bag_id"))
    op.drop_table("product_hold_bag")
    with op.batch_alter_table("product_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_hold_lot_id"))
    op.drop_table("product_hold")
