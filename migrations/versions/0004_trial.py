"""trial: allocation list, patients, doses, postponements, emergency unblinding

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-26 10:00:00

SPEC 4.4, 4.5, 4.9. The tables `allocation`, `allocation_list` and `dose_postponement` hold what
only unblinded roles may read (arms and true postponement reasons).
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('allocation_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('seed_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('block_sizes', sa.String(length=40), nullable=True),
    sa.Column('strata', sa.Text(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_allocation_list_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_list'))
    )
    op.create_table('patient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('hospital_record_number', sa.String(length=40), nullable=False),
    sa.Column('initials', sa.String(length=6), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('site', sa.String(length=40), nullable=False),
    sa.Column('weight_kg', sa.Double(), nullable=False),
    sa.Column('stratum', sa.String(length=40), nullable=False),
    sa.Column('randomization_number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('heparin_contraindication', sa.Boolean(), nullable=False),
    sa.Column('contraindications', sa.Text(), nullable=False),
    sa.Column('eligibility_version', sa.String(length=40), nullable=False),
    sa.Column('eligibility_answers', sa.Text(), nullable=False),
    sa.Column('day0', sa.Date(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enrolled_by_id', sa.Integer(), nullable=False),
    sa.Column('status_changed_on', sa.Date(), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('active', 'withdrawn', 'dead')", name=op.f('ck_patient_status')),
    sa.ForeignKeyConstraint(['enrolled_by_id'], ['user_account.id'], name=op.f('fk_patient_enrolled_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient')),
    sa.UniqueConstraint('code', name=op.f('uq_patient_code')),
    sa.UniqueConstraint('stratum', 'randomization_number', name=op.f('uq_patient_stratum_randomization_number')),
    sa.UniqueConstraint('subject_id', name=op.f('uq_patient_subject_id'))
    )
    op.create_table('allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('stratum', sa.String(length=40), nullable=False),
    sa.Column('randomization_number', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=1), nullable=False),
    sa.Column('block_number', sa.Integer(), nullable=True),
    sa.Column('block_size', sa.Integer(), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("arm IN ('A', 'B')", name=op.f('ck_allocation_arm')),
    sa.ForeignKeyConstraint(['list_id'], ['allocation_list.id'], name=op.f('fk_allocation_list_id_allocation_list')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_allocation_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation')),
    sa.UniqueConstraint('patient_id', name=op.f('uq_allocation_patient_id')),
    sa.UniqueConstraint('stratum', 'randomization_number', name=op.f('uq_allocation_stratum_randomization_number'))
    )
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocation_list_id'), ['list_id'], unique=False)

    op.create_table('dose',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('dose_number', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('window_end', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('prepared_weight_kg', sa.Double(), nullable=True),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cleared_by_id', sa.Integer(), nullable=True),
    sa.Column('clearance_signature_id', sa.Integer(), nullable=True),
    sa.Column('postponed_reason_blinded', sa.String(length=80), nullable=True),
    sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('window_start <= due_on AND due_on <= window_end', name=op.f('ck_dose_window')),
    sa.ForeignKeyConstraint(['clearance_signature_id'], ['signature.id'], name=op.f('fk_dose_clearance_signature_id_signature')),
    sa.ForeignKeyConstraint(['cleared_by_id'], ['user_account.id'], name=op.f('fk_dose_cleared_by_id_user_account')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_dose_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dose')),
    sa.UniqueConstraint('patient_id', 'dose_number', name=op.f('uq_dose_patient_id_dose_number'))
    )
    with op.batch_alter_table('dose', schema=None) as batch_op:
        batch_op.create_index('ix_dose_due_on_state', ['due_on', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_dose_patient_id'), ['patient_id'], unique=False)

    op.create_table('unblinding_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('signature_id', sa.Integer(), nullable=True),
    sa.Column('first_shown_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('requested', 'confirmed')", name=op.f('ck_unblinding_request_status')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user_account.id'], name=op.f('fk_unblinding_request_confirmed_by_id_user_account')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_unblinding_request_patient_id_patient')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_unblinding_request_requested_by_id_user_account')),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], name=op.f('fk_unblinding_request_signature_id_signature')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unblinding_request'))
    )
    with op.batch_alter_table('unblinding_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unblinding_request_patient_id'), ['patient_id'], unique=False)

    op.create_table('dose_postponement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dose_id', sa.Integer(), nullable=False),
    sa.Column('postponed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('postponed_by_id', sa.Integer(), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=False),
    sa.Column('to_date', sa.Date(), nullable=True),
    sa.Column('blinded_reason', sa.String(length=80), nullable=False),
    sa.Column('true_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dose_id'], ['dose.id'], name=op.f('fk_dose_postponement_dose_id_dose')),
    sa.ForeignKeyConstraint(['postponed_by_id'], ['user_account.id'], name=op.f('fk_dose_postponement_postponed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dose_postponement'))
    )
    with op.batch_alter_table('dose_postponement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dose_postponement_dose_id'), ['dose_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dose_postponement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dose_postponement_dose_id'))

    op.drop_table('dose_postponement')
    with op.batch_alter_table('unblinding_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unblinding_request_patient_id'))

    op.drop_table('unblinding_request')
    with op.batch_alter_table('dose', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dose_patient_id'))
        batch_op.drop_index('ix_dose_due_on_state')

    op.drop_table('dose')
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocation_list_id'))

    op.drop_table('allocation')
    op.drop_table('patient')
    op.drop_table('allocation_list')
