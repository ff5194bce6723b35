"""session epoch and sign-in attempts: server-side sign-out, a shared login limit, back-off

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:00:00

SPEC 6. `user_account.session_epoch` is copied into each page session at sign-in; raising it
ends every page session of the account, even a cookie copied before (sign-out, password
reset, role change, deactivation, lock-out). `sign_in_attempt` holds the recent credential
checks per client address: the login rate limit every worker shares without Redis, and the
per-address back-off that keeps one address from locking an account for everyone.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False,
                                      server_default="0"))

    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempt")),
    )
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_attempt_address_at", ["address", "attempted_at"],
                              unique=False)
        batch_op.create_index("ix_sign_in_attempt_username_at", ["username", "attempted_at"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_sign_in_attempt_attempted_at"), ["attempted_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_attempt_attempted_at"))
        batch_op.drop_index("ix_sign_in_attempt_username_at")
        batch_op.drop_index("ix_sign_in_attempt_address_at")
    op.drop_table("sign_in_attempt")

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("session_epoch")
