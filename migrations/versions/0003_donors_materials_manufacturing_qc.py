"""donors, materials, manufacturing and qc: donors, collections, material lots, lots, vials,
passages, QC specifications (with the default UC-MSC specifications), results and deviations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 12:00:00

SPEC 4.1, 4.2, 4.3. The default specifications follow SPEC 4.3 (ISCT minimal criteria and
common MSC release practice); later versions are new rows, never edits.
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

IDENTITY = [
    ("cd73", "CD73", ">=", 95.0), ("cd90", "CD90", ">=", 95.0), ("cd105", "CD105", ">=", 95.0),
    ("cd34", "CD34", "<=", 2.0), ("cd45", "CD45", "<=", 2.0),
    ("cd14_cd11b", "CD14 or CD11b", "<=", 2.0), ("cd19_cd79a", "CD19 or CD79a", "<=", 2.0),
    ("hla_dr", "HLA-DR", "<=", 2.0),
]


def _items(kind: str) -> list[dict]:
    """The default release tests of a kind of lot (SPEC 4.3)."""
    rows = [dict(test="viability", label="Viability", method="7-AAD flow cytometry", unit="%",
                 comparator=">=", limit=70.0)]
    rows += [dict(test=test, label=label, method="Flow cytometry", unit="%", comparator=cmp,
                  limit=limit) for test, label, cmp, limit in IDENTITY]
    rows += [
        dict(test="sterility", label="Sterility (14-day culture)",
             method="Ph. Eur. 2.6.27 automated culture", unit="", comparator="is",
             expected="no growth", may_be_pending=kind == "product_batch"),
        dict(test="mycoplasma", label="Mycoplasma", method="Ph. Eur. 2.6.7 NAT", unit="",
             comparator="is", expected="not detected"),
        dict(test="endotoxin", label="Endotoxin", method="LAL kinetic chromogenic",
             unit="EU/mL", comparator="<", limit_setting="endotoxin_limit"),
    ]
    if kind == "product_batch":
        rows.append(dict(test="cell_count", label="Cell count (doses planned)",
                         method="Automated cell counter", unit="cells", comparator=">=",
                         limit=2.0e8))
    else:
        rows.append(dict(test="vial_count", label="Vial count", method="Inventory count",
                         unit="vials", comparator=">=", limit=10.0))
    return rows


def _seed_specifications() -> None:
    spec = sa.table("specification", sa.column("id", sa.Integer), sa.column("lot_kind", sa.String),
                    sa.column("version", sa.Integer), sa.column("title", sa.String),
                    sa.column("effective_from", sa.DateTime(timezone=True)),
                    sa.column("created_at", sa.DateTime(timezone=True)))
    item = sa.table("spec_item", *(sa.column(name) for name in (
        "specification_id", "position", "test", "label", "method", "unit", "comparator", "limit",
        "limit_setting", "expected", "may_be_pending")))
    since = datetime(2000, 1, 1, tzinfo=UTC)
    titles = {"cell_bank": "UC-MSC cell bank specification",
              "product_batch": "UC-MSC final product specification"}
    for spec_id, (kind, title) in enumerate(titles.items(), start=1):
        op.bulk_insert(spec, [{"id": spec_id, "lot_kind": kind, "version": 1, "title": title,
                               "effective_from": since, "created_at": since}])
        op.bulk_insert(item, [
            {"specification_id": spec_id, "position": n, "limit": None, "limit_setting": None,
             "expected": None, "may_be_pending": False, **row}
            for n, row in enumerate(_items(kind), start=1)])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('specification', 'id'), 2)")


def upgrade() -> None:
    op.create_table('donor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('consent_date', sa.Date(), nullable=False),
    sa.Column('consent_form_version', sa.String(length=40), nullable=False),
    sa.Column('consent_obtained_by', sa.String(length=200), nullable=False),
    sa.Column('eligibility', sa.String(length=12), nullable=False),
    sa.Column('determined_by_id', sa.Integer(), nullable=True),
    sa.Column('determined_on', sa.Date(), nullable=True),
    sa.Column('determination_reason', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("eligibility IN ('pending', 'eligible', 'ineligible')", name=op.f('ck_donor_eligibility')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_donor_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['determined_by_id'], ['user_account.id'], name=op.f('fk_donor_determined_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donor')),
    sa.UniqueConstraint('code', name=op.f('uq_donor_code'))
    )
    op.create_table('material_lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('supplier', sa.String(length=200), nullable=False),
    sa.Column('supplier_lot', sa.String(length=80), nullable=False),
    sa.Column('catalogue_number', sa.String(length=80), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('quantity', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('status_by_id', sa.Integer(), nullable=True),
    sa.Column('status_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('medium', 'supplement', 'reagent', 'anticoagulant', 'saline', 'container', 'other')", name=op.f('ck_material_lot_kind')),
    sa.CheckConstraint("status IN ('quarantine', 'released', 'rejected')", name=op.f('ck_material_lot_status')),
    sa.ForeignKeyConstraint(['received_by_id'], ['user_account.id'], name=op.f('fk_material_lot_received_by_id_user_account')),
    sa.ForeignKeyConstraint(['status_by_id'], ['user_account.id'], name=op.f('fk_material_lot_status_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material_lot')),
    sa.UniqueConstraint('code', name=op.f('uq_material_lot_code')),
    sa.UniqueConstraint('number', name=op.f('uq_material_lot_number'))
    )
    op.create_table('specification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_kind', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_specification_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_specification')),
    sa.UniqueConstraint('lot_kind', 'version', name=op.f('uq_specification_lot_kind_version'))
    )
    op.create_table('collection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('din', sa.String(length=13), nullable=False),
    sa.Column('din_flags', sa.String(length=2), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivery', sa.String(length=200), nullable=False),
    sa.Column('site', sa.String(length=120), nullable=False),
    sa.Column('transport_container', sa.String(length=120), nullable=False),
    sa.Column('transport_temperature_c', sa.Double(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('receipt_condition', sa.String(length=200), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('received', 'accepted', 'rejected')", name=op.f('ck_collection_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_collection_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['donor_id'], ['donor.id'], name=op.f('fk_collection_donor_id_donor')),
    sa.ForeignKeyConstraint(['received_by_id'], ['user_account.id'], name=op.f('fk_collection_received_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection')),
    sa.UniqueConstraint('din', name=op.f('uq_collection_din'))
    )
    with op.batch_alter_table('collection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collection_donor_id'), ['donor_id'], unique=False)

    op.create_table('donor_test',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('donor_id', sa.Integer(), nullable=False),
    sa.Column('test', sa.String(length=40), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('method', sa.String(length=120), nullable=True),
    sa.Column('tested_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['donor_id'], ['donor.id'], name=op.f('fk_donor_test_donor_id_donor')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_donor_test_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_donor_test'))
    )
    with op.batch_alter_table('donor_test', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_donor_test_donor_id'), ['donor_id'], unique=False)

    op.create_table('spec_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('specification_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('test', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('method', sa.String(length=120), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('comparator', sa.String(length=4), nullable=False),
    sa.Column('limit', sa.Double(), nullable=True),
    sa.Column('limit_setting', sa.String(length=40), nullable=True),
    sa.Column('expected', sa.String(length=60), nullable=True),
    sa.Column('may_be_pending', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['specification_id'], ['specification.id'], name=op.f('fk_spec_item_specification_id_specification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spec_item')),
    sa.UniqueConstraint('specification_id', 'test', name=op.f('uq_spec_item_specification_id_test'))
    )
    op.create_table('lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('din', sa.String(length=13), nullable=False),
    sa.Column('product_code', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('held_from', sa.String(length=20), nullable=True),
    sa.Column('collection_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('banked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('harvested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cells_harvested', sa.Double(), nullable=True),
    sa.Column('harvest_viability_pct', sa.Double(), nullable=True),
    sa.Column('cells_allocated', sa.Double(), nullable=False),
    sa.Column('conditional_tests', sa.JSON(), nullable=True),
    sa.Column('release_signature_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('cell_bank', 'product_batch')", name=op.f('ck_lot_kind')),
    sa.CheckConstraint('cells_allocated >= 0', name=op.f('ck_lot_cells_allocated')),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_lot_collection_id_collection')),
    sa.ForeignKeyConstraint(['parent_id'], ['lot.id'], name=op.f('fk_lot_parent_id_lot')),
    sa.ForeignKeyConstraint(['release_signature_id'], ['signature.id'], name=op.f('fk_lot_release_signature_id_signature')),
    sa.ForeignKeyConstraint(['started_by_id'], ['user_account.id'], name=op.f('fk_lot_started_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot')),
    sa.UniqueConstraint('lot_id', name=op.f('uq_lot_lot_id'))
    )
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_din'), ['din'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_lot_state_kind', ['state', 'kind'], unique=False)

    op.create_table('lot_transition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sa.String(length=20), nullable=True),
    sa.Column('to_state', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('signature_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], name=op.f('fk_lot_transition_by_id_user_account')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_lot_transition_lot_id_lot')),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], name=op.f('fk_lot_transition_signature_id_signature')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_transition'))
    )
    with op.batch_alter_table('lot_transition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_transition_lot_id'), ['lot_id'], unique=False)

    op.create_table('passage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('seeded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('harvested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('vessels', sa.String(length=120), nullable=False),
    sa.Column('cells_seeded', sa.Double(), nullable=False),
    sa.Column('cells_harvested', sa.Double(), nullable=False),
    sa.Column('viability_pct', sa.Double(), nullable=False),
    sa.Column('confluence_pct', sa.Double(), nullable=False),
    sa.Column('incubator', sa.String(length=40), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verifier_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('cells_harvested > 0', name=op.f('ck_passage_cells_harvested')),
    sa.CheckConstraint('cells_seeded > 0', name=op.f('ck_passage_cells_seeded')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_passage_lot_id_lot')),
    sa.ForeignKeyConstraint(['operator_id'], ['user_account.id'], name=op.f('fk_passage_operator_id_user_account')),
    sa.ForeignKeyConstraint(['verifier_id'], ['user_account.id'], name=op.f('fk_passage_verifier_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passage')),
    sa.UniqueConstraint('lot_id', 'number', name=op.f('uq_passage_lot_id_number'))
    )
    op.create_table('processing_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_processing_step_lot_id_lot')),
    sa.ForeignKeyConstraint(['operator_id'], ['user_account.id'], name=op.f('fk_processing_step_operator_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processing_step'))
    )
    with op.batch_alter_table('processing_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processing_step_lot_id'), ['lot_id'], unique=False)

    op.create_table('qc_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('specification_id', sa.Integer(), nullable=False),
    sa.Column('test', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=120), nullable=False),
    sa.Column('sample_id', sa.String(length=60), nullable=False),
    sa.Column('value_number', sa.Double(), nullable=True),
    sa.Column('value_text', sa.String(length=60), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('instrument', sa.String(length=80), nullable=True),
    sa.Column('performed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('criterion', sa.String(length=80), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_qc_result_lot_id_lot')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_qc_result_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['user_account.id'], name=op.f('fk_qc_result_reviewer_id_user_account')),
    sa.ForeignKeyConstraint(['specification_id'], ['specification.id'], name=op.f('fk_qc_result_specification_id_specification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qc_result'))
    )
    with op.batch_alter_table('qc_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qc_result_lot_id'), ['lot_id'], unique=False)

    op.create_table('vial',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('position', sa.String(length=80), nullable=False),
    sa.Column('cells', sa.Double(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('thawed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('thawed_by_id', sa.Integer(), nullable=True),
    sa.Column('thawed_into_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('stored', 'thawed', 'discarded')", name=op.f('ck_vial_status')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_vial_lot_id_lot')),
    sa.ForeignKeyConstraint(['thawed_by_id'], ['user_account.id'], name=op.f('fk_vial_thawed_by_id_user_account')),
    sa.ForeignKeyConstraint(['thawed_into_id'], ['lot.id'], name=op.f('fk_vial_thawed_into_id_lot')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vial')),
    sa.UniqueConstraint('lot_id', 'number', name=op.f('uq_vial_lot_id_number'))
    )
    op.create_table('deviation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('qc_result_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('after_release', sa.Boolean(), nullable=False),
    sa.Column('investigation', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('disposition', sa.String(length=10), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('signature_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("state IN ('open', 'closed')", name=op.f('ck_deviation_state')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], name=op.f('fk_deviation_closed_by_id_user_account')),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_deviation_lot_id_lot')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_deviation_opened_by_id_user_account')),
    sa.ForeignKeyConstraint(['qc_result_id'], ['qc_result.id'], name=op.f('fk_deviation_qc_result_id_qc_result')),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], name=op.f('fk_deviation_signature_id_signature')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deviation')),
    sa.UniqueConstraint('number', name=op.f('uq_deviation_number'))
    )
    with op.batch_alter_table('deviation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deviation_lot_id'), ['lot_id'], unique=False)

    op.create_table('material_use',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('material_lot_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('passage_id', sa.Integer(), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_material_use_lot_id_lot')),
    sa.ForeignKeyConstraint(['material_lot_id'], ['material_lot.id'], name=op.f('fk_material_use_material_lot_id_material_lot')),
    sa.ForeignKeyConstraint(['passage_id'], ['passage.id'], name=op.f('fk_material_use_passage_id_passage')),
    sa.ForeignKeyConstraint(['used_by_id'], ['user_account.id'], name=op.f('fk_material_use_used_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material_use'))
    )
    with op.batch_alter_table('material_use', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_material_use_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_material_use_material_lot_id'), ['material_lot_id'], unique=False)



    _seed_specifications()


def downgrade() -> None:
    op.drop_table('material_use')
    op.drop_table('deviation')
    op.drop_table('vial')
    op.drop_table('qc_result')
    op.drop_table('processing_step')
    op.drop_table('passage')
    op.drop_table('lot_transition')
    op.drop_table('lot')
    op.drop_table('spec_item')
    op.drop_table('donor_test')
    op.drop_table('collection')
    op.drop_table('specification')
    op.drop_table('material_lot')
    op.drop_table('donor')
