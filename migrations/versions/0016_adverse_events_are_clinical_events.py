"""infusion adverse events become the patient's clinical events; the investigator's assessment

Revision ID: 0016
Revises: 0014
Create Date: 2026-11-27 10:00:00

SPEC 4.4, 4.8, 4.10. An adverse event recorded at an infusion was kept in its own table
(`adverse_event`), so follow-up, the export and the clearance of the next dose never saw it.
It becomes one record: a `clinical_event` of kind `adverse_event` with its `infusion_id`, now a
real foreign key. Existing rows move over with their term, grade, seriousness, onset time,
description, recorder and time of recording; the onset date is the site's calendar day of the
onset (or of the start of the infusion when no onset time was given). The audit entries that
recorded them stay where they are. Then `adverse_event` is dropped.

An investigator could type any number as a clinical event's infusion id. One that names no
infusion of that patient cannot become a foreign key: it is cleared, and the number as typed is
kept at the end of the event's description.

`clinical_event` gains `onset_at` (the time of onset, when known) and the investigator's
assessment: who, when, the causality and the reason, all or none.

On SQLite the table is rebuilt (batch), which is safe: no table references `clinical_event`.
The partial unique index of deaths is dropped and made again around the rebuild.
"""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from flask import current_app, has_app_context

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

CAUSALITY = ("causality IS NULL OR causality IN "
             "('unrelated', 'unlikely', 'possible', 'probable', 'definite')")
ASSESSMENT_WHOLE = (
    "(assessed_at IS NULL AND assessed_by_id IS NULL AND causality IS NULL "
    "AND assessment IS NULL) OR (assessed_at IS NOT NULL AND assessed_by_id IS NOT NULL "
    "AND causality IS NOT NULL AND assessment IS NOT NULL)"
)
DEATH_WHERE = "kind = 'death' AND voided_at IS NULL"

clinical_event = sa.table(
    "clinical_event",
    sa.column("id", sa.Integer), sa.column("patient_id", sa.Integer),
    sa.column("kind", sa.String), sa.column("onset_date", sa.Date),
    sa.column("onset_at", sa.DateTime(timezone=True)), sa.column("term", sa.String),
    sa.column("grade", sa.Integer), sa.column("serious", sa.Boolean),
    sa.column("infusion_id", sa.Integer), sa.column("description", sa.Text),
    sa.column("recorded_by_id", sa.Integer),
    sa.column("recorded_at", sa.DateTime(timezone=True)),
)
adverse_event = sa.table(
    "adverse_event",
    sa.column("id", sa.Integer), sa.column("infusion_id", sa.Integer),
    sa.column("term", sa.String), sa.column("grade", sa.Integer),
    sa.column("serious", sa.Boolean), sa.column("onset_at", sa.DateTime(timezone=True)),
    sa.column("description", sa.String), sa.column("recorded_at", sa.DateTime(timezone=True)),
    sa.column("recorded_by_id", sa.Integer),
)
infusion = sa.table(
    "infusion",
    sa.column("id", sa.Integer), sa.column("patient_id", sa.Integer),
    sa.column("started_at", sa.DateTime(timezone=True)),
)


def _site_zone() -> ZoneInfo:
    name = current_app.config.get("SITE_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or "Asia/Shanghai")


def _site_day(moment: datetime):
    """SQLite returns the stored UTC time without its zone; PostgreSQL with it."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(_site_zone()).date()


def _drop_death_index() -> None:
    op.drop_index("uq_clinical_event_death", table_name="clinical_event")


def _create_death_index() -> None:
    op.create_index("uq_clinical_event_death", "clinical_event", ["patient_id"], unique=True,
                    postgresql_where=sa.text(DEATH_WHERE), sqlite_where=sa.text(DEATH_WHERE))


def _unlink_unknown_infusions(connection: sa.Connection) -> None:
    own = sa.select(infusion.c.id).where(infusion.c.id == clinical_event.c.infusion_id,
                                         infusion.c.patient_id == clinical_event.c.patient_id)
    stray = connection.execute(
        sa.select(clinical_event.c.id, clinical_event.c.infusion_id,
                  clinical_event.c.description)
        .where(clinical_event.c.infusion_id.is_not(None), ~own.exists())
    ).all()
    for row in stray:
        note = f"(infusion id {row.infusion_id} as typed: no such infusion of this patient)"
        connection.execute(clinical_event.update().where(clinical_event.c.id == row.id).values(
            infusion_id=None,
            description=f"{row.description} {note}" if row.description else note))


def upgrade() -> None:
    _unlink_unknown_infusions(op.get_bind())
    _drop_death_index()
    with op.batch_alter_table("clinical_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("onset_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("assessed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("causality", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("assessment", sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_clinical_event_infusion_id_infusion"),
                                    "infusion", ["infusion_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_clinical_event_assessed_by_id_user_account"),
                                    "user_account", ["assessed_by_id"], ["id"])
        batch_op.create_check_constraint(batch_op.f("ck_clinical_event_causality"), CAUSALITY)
        batch_op.create_check_constraint(batch_op.f("ck_clinical_event_assessment_whole"),
                                         ASSESSMENT_WHOLE)
    _create_death_index()

    connection = op.get_bind()
    rows = connection.execute(
        sa.select(adverse_event, infusion.c.patient_id, infusion.c.started_at)
        .join(infusion, infusion.c.id == adverse_event.c.infusion_id)
        .order_by(adverse_event.c.id)
    ).all()
    for row in rows:
        connection.execute(clinical_event.insert().values(
            patient_id=row.patient_id, kind="adverse_event",
            onset_date=_site_day(row.onset_at or row.started_at), onset_at=row.onset_at,
            term=row.term, grade=row.grade, serious=row.serious, infusion_id=row.infusion_id,
            description=row.description, recorded_by_id=row.recorded_by_id,
            recorded_at=row.recorded_at,
        ))

    with op.batch_alter_table("adverse_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_event_infusion_id"))
    op.drop_table("adverse_event")


def downgrade() -> None:
    op.create_table(
        "adverse_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("infusion_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=200), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("serious", sa.Boolean(), nullable=False),
        sa.Column("onset_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("grade BETWEEN 1 AND 5", name=op.f("ck_adverse_event_grade")),
        sa.ForeignKeyConstraint(["infusion_id"], ["infusion.id"],
                                name=op.f("fk_adverse_event_infusion_id_infusion")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["user_account.id"],
                                name=op.f("fk_adverse_event_recorded_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_event")),
    )
    with op.batch_alter_table("adverse_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adverse_event_infusion_id"), ["infusion_id"],
                              unique=False)
    # Adverse events linked to an infusion go back to the bedside table; the rest stay.
    linked = sa.and_(clinical_event.c.kind == "adverse_event",
                     clinical_event.c.infusion_id.is_not(None),
                     clinical_event.c.grade.is_not(None), clinical_event.c.term.is_not(None))
    op.get_bind().execute(adverse_event.insert().from_select(
        ["infusion_id", "term", "grade", "serious", "onset_at", "description", "recorded_at",
         "recorded_by_id"],
        sa.select(clinical_event.c.infusion_id, sa.func.substr(clinical_event.c.term, 1, 200),
                  clinical_event.c.grade, clinical_event.c.serious, clinical_event.c.onset_at,
                  sa.func.substr(clinical_event.c.description, 1, 1000),
                  clinical_event.c.recorded_at, clinical_event.c.recorded_by_id)
        .where(linked).order_by(clinical_event.c.id),
    ))
    op.get_bind().execute(clinical_event.delete().where(linked))

    _drop_death_index()
    with op.batch_alter_table("clinical_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_clinical_event_assessment_whole"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_clinical_event_causality"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_clinical_event_assessed_by_id_user_account"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_clinical_event_infusion_id_infusion"),
                                 type_="foreignkey")
        batch_op.drop_column("assessment")
        batch_op.drop_column("causality")
        batch_op.drop_column("assessed_by_id")
        batch_op.drop_column("assessed_at")
        batch_op.drop_column("onset_at")
    _create_death_index()
