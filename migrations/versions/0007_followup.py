"""follow-up: visits, lab results, clinical events, the database lock

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-26 12:00:00

SPEC 4.10. Planned visits are computed, not stored; a visit row is written when it is recorded.
`clinical_event.infusion_id` is a plain integer without a foreign key: the infusion table belongs
to the bedside revision, which this one does not depend on.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clinical_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('onset_date', sa.Date(), nullable=False),
    sa.Column('term', sa.String(length=200), nullable=True),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('serious', sa.Boolean(), nullable=False),
    sa.Column('infusion_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('variceal_bleeding', 'infection', 'hepatocellular_carcinoma', 'transplant', 'adverse_event', 'death')", name=op.f('ck_clinical_event_kind')),
    sa.CheckConstraint('grade IS NULL OR grade BETWEEN 1 AND 5', name=op.f('ck_clinical_event_grade')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_clinical_event_patient_id_patient')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_clinical_event_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinical_event'))
    )
    with op.batch_alter_table('clinical_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinical_event_infusion_id'), ['infusion_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clinical_event_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('uq_clinical_event_death', ['patient_id'], unique=True, postgresql_where=sa.text("kind = 'death' AND voided_at IS NULL"), sqlite_where=sa.text("kind = 'death' AND voided_at IS NULL"))

    op.create_table('followup_database_lock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('signature_id', sa.Integer(), nullable=False),
    sa.Column('locked_by_id', sa.Integer(), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['locked_by_id'], ['user_account.id'], name=op.f('fk_followup_database_lock_locked_by_id_user_account')),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], name=op.f('fk_followup_database_lock_signature_id_signature')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_database_lock')),
    sa.UniqueConstraint('signature_id', name=op.f('uq_followup_database_lock_signature_id'))
    )
    op.create_table('followup_visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('visit_week', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=True),
    sa.Column('ascites', sa.String(length=20), nullable=True),
    sa.Column('encephalopathy_grade', sa.Integer(), nullable=True),
    sa.Column('dialysis', sa.Boolean(), nullable=False),
    sa.Column('pt_control_s', sa.Double(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('missed_reason', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("ascites IS NULL OR ascites IN ('none', 'mild', 'moderate_severe')", name=op.f('ck_followup_visit_ascites')),
    sa.CheckConstraint("status = 'missed' OR visit_date IS NOT NULL", name=op.f('ck_followup_visit_completed_has_date')),
    sa.CheckConstraint("status IN ('completed', 'missed')", name=op.f('ck_followup_visit_status')),
    sa.CheckConstraint('encephalopathy_grade IS NULL OR encephalopathy_grade BETWEEN 0 AND 4', name=op.f('ck_followup_visit_encephalopathy_grade')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_followup_visit_patient_id_patient')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_followup_visit_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_visit')),
    sa.UniqueConstraint('patient_id', 'visit_week', name=op.f('uq_followup_visit_patient_id_visit_week'))
    )
    with op.batch_alter_table('followup_visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_followup_visit_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_followup_visit_visit_date'), ['visit_date'], unique=False)

    op.create_table('lab_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('analyte', sa.String(length=10), nullable=False),
    sa.Column('value_text', sa.String(length=24), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('standard_value', sa.Double(), nullable=False),
    sa.Column('standard_unit', sa.String(length=16), nullable=False),
    sa.Column('flag', sa.String(length=1), nullable=True),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['entered_by_id'], ['user_account.id'], name=op.f('fk_lab_result_entered_by_id_user_account')),
    sa.ForeignKeyConstraint(['visit_id'], ['followup_visit.id'], name=op.f('fk_lab_result_visit_id_followup_visit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_result'))
    )
    with op.batch_alter_table('lab_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_result_visit_id'), ['visit_id'], unique=False)
        batch_op.create_index('uq_lab_result_current', ['visit_id', 'analyte'], unique=True, postgresql_where=sa.text('voided_at IS NULL'), sqlite_where=sa.text('voided_at IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('lab_result', schema=None) as batch_op:
        batch_op.drop_index('uq_lab_result_current', postgresql_where=sa.text('voided_at IS NULL'), sqlite_where=sa.text('voided_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_lab_result_visit_id'))

    op.drop_table('lab_result')
    with op.batch_alter_table('followup_visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_followup_visit_visit_date'))
        batch_op.drop_index(batch_op.f('ix_followup_visit_patient_id'))

    op.drop_table('followup_visit')
    op.drop_table('followup_database_lock')
    with op.batch_alter_table('clinical_event', schema=None) as batch_op:
        batch_op.drop_index('uq_clinical_event_death', postgresql_where=sa.text("kind = 'death' AND voided_at IS NULL"), sqlite_where=sa.text("kind = 'death' AND voided_at IS NULL"))
        batch_op.drop_index(batch_op.f('ix_clinical_event_patient_id'))
        batch_op.drop_index(batch_op.f('ix_clinical_event_infusion_id'))

    op.drop_table('clinical_event')

