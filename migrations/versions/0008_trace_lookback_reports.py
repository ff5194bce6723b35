"""trace, look-back and reports: look-back cases with their affected bags and decisions,
and time-limited inspector grants

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 16:36:00

SPEC 2 (inspector grant co-signed by QA), SPEC 4.9 (look-back). The trace itself reads the
upstream domains' tables and has none of its own.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inspector_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cosigned_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_inspector_grant_period')),
    sa.ForeignKeyConstraint(['cosigned_by_id'], ['signature.id'], name=op.f('fk_inspector_grant_cosigned_by_id_signature')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user_account.id'], name=op.f('fk_inspector_grant_granted_by_id_user_account')),
    sa.ForeignKeyConstraint(['inspector_id'], ['user_account.id'], name=op.f('fk_inspector_grant_inspector_id_user_account')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['user_account.id'], name=op.f('fk_inspector_grant_revoked_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspector_grant'))
    )
    with op.batch_alter_table('inspector_grant', schema=None) as batch_op:
        batch_op.create_index('ix_inspector_grant_inspector_period', ['inspector_id', 'ends_at'], unique=False)

    op.create_table('lookback_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('origin_kind', sa.String(length=20), nullable=False),
    sa.Column('origin_ref', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=False),
    sa.Column('signature_id', sa.Integer(), nullable=False),
    sa.Column('bags_held', sa.Integer(), nullable=False),
    sa.CheckConstraint("origin_kind IN ('material_lot', 'donor', 'collection', 'lot', 'qc_result')", name=op.f('ck_lookback_case_origin_kind')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_lookback_case_opened_by_id_user_account')),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], name=op.f('fk_lookback_case_signature_id_signature')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookback_case')),
    sa.UniqueConstraint('number', name=op.f('uq_lookback_case_number'))
    )
    with op.batch_alter_table('lookback_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lookback_case_origin_ref'), ['origin_ref'], unique=False)

    op.create_table('lookback_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('tell_investigator', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['lookback_case.id'], name=op.f('fk_lookback_decision_case_id_lookback_case')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_lookback_decision_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_lookback_decision_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookback_decision')),
    sa.UniqueConstraint('case_id', 'patient_id', name=op.f('uq_lookback_decision_case_id_patient_id'))
    )
    with op.batch_alter_table('lookback_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lookback_decision_patient_id'), ['patient_id'], unique=False)

    op.create_table('lookback_bag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('bag_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=True),
    sa.Column('status_before', sa.String(length=20), nullable=False),
    sa.Column('infused', sa.Boolean(), nullable=False),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['bag_id'], ['bag.id'], name=op.f('fk_lookback_bag_bag_id_bag')),
    sa.ForeignKeyConstraint(['case_id'], ['lookback_case.id'], name=op.f('fk_lookback_bag_case_id_lookback_case')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_lookback_bag_lot_id_lot')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_lookback_bag_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookback_bag')),
    sa.UniqueConstraint('case_id', 'bag_id', name=op.f('uq_lookback_bag_case_id_bag_id'))
    )
    with op.batch_alter_table('lookback_bag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lookback_bag_bag_id'), ['bag_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lookback_bag_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lookback_bag_patient_id'), ['patient_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lookback_bag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lookback_bag_patient_id'))
        batch_op.drop_index(batch_op.f('ix_lookback_bag_case_id'))
        batch_op.drop_index(batch_op.f('ix_lookback_bag_bag_id'))

    op.drop_table('lookback_bag')
    with op.batch_alter_table('lookback_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lookback_decision_patient_id'))

    op.drop_table('lookback_decision')
    with op.batch_alter_table('lookback_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lookback_case_origin_ref'))

    op.drop_table('lookback_case')
    with op.batch_alter_table('inspector_grant', schema=None) as batch_op:
        batch_op.drop_index('ix_inspector_grant_inspector_period')

    op.drop_table('inspector_grant')
